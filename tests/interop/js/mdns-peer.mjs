// A js-libp2p node with @libp2p/mdns, for tests/integration/mdns_netns.sh:
// it listens on --listen (TCP + Noise + yamux, identify, ping), asks and
// answers on mDNS every --interval ms, and prints each peer it discovers
// as a JSON line ({"event":"discovered","peerId":...,"addrs":[...]});
// with --dial PEERID it dials that peer once it is discovered (through the
// discovered addresses only) and prints {"event":"connected",...}.
// --timeout bounds the run (exit 124 past it).
import './node20-shim.mjs'
import { parseArgs } from 'node:util'
import { mdns } from '@libp2p/mdns'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { AGENT, emit } from './common.mjs'

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '/ip4/0.0.0.0/tcp/0' },
    interval: { type: 'string', default: '1000' },
    dial: { type: 'string' },
    timeout: { type: 'string', default: '60' }
  }
})
setTimeout(() => {
  emit('timeout')
  process.exit(124)
}, Number(values.timeout) * 1000).unref()

const node = await createLibp2p({
  addresses: { listen: [values.listen] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  nodeInfo: { userAgent: AGENT },
  peerDiscovery: [mdns({ interval: Number(values.interval) })],
  services: { identify: identify(), ping: ping() }
})
let dialed = false
node.addEventListener('peer:discovery', (evt) => {
  const { id, multiaddrs } = evt.detail
  emit('discovered', { peerId: id.toString(), addrs: multiaddrs.map(String) })
  if (values.dial === id.toString() && !dialed) {
    dialed = true
    node.dial(multiaddrs).then((conn) => {
      emit('connected', { peerId: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString() })
    }, (err) => emit('dial-failed', { message: err.message }))
  }
})
await node.start()
emit('ready', { peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
