// A js-libp2p circuit relay v2 server (@libp2p/circuit-relay-v2's
// circuitRelayServer, pinned in package.json), for the relay tests in
// network namespaces (tests/interop/relay_js_netns.sh): it listens on
// --listen (TCP + Noise + yamux, identify, ping), serves the hop protocol
// with js-libp2p's default limits (2 minutes and 128 KiB each way per
// circuit), and prints {"event":"ready",...} once listening, then one
// {"event":"reservation","peer_id":...} line per reservation it grants.
// --key FILE keeps its identity across runs (written when missing).
// --timeout bounds the run (exit 124 past it).
import './node20-shim.mjs'
import { access } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { AGENT, emit, loadKey, writeNewKey } from './common.mjs'

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '/ip4/0.0.0.0/tcp/0' },
    key: { type: 'string' },
    timeout: { type: 'string', default: '120' }
  }
})
setTimeout(() => {
  emit('timeout')
  process.exit(124)
}, Number(values.timeout) * 1000).unref()

let privateKey
if (values.key != null) {
  privateKey = await access(values.key).then(() => loadKey(values.key),
    () => writeNewKey(values.key))
}

const node = await createLibp2p({
  ...(privateKey != null ? { privateKey } : {}),
  addresses: { listen: [values.listen] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  // the tests dial it many times in a row from two hosts
  connectionManager: { inboundConnectionThreshold: 1000 },
  nodeInfo: { userAgent: AGENT },
  services: {
    identify: identify(),
    ping: ping(),
    relay: circuitRelayServer({ reservations: { maxReservations: 64 } })
  }
})
await node.start()
emit('ready', { peer_id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
// the server announces no event per reservation: watch its table
const seen = new Map()
setInterval(() => {
  for (const [peer, r] of node.services.relay.reservations.entries()) {
    const id = peer.toString()
    if (seen.get(id) !== r) emit('reservation', { peer_id: id, addr: r.addr.toString() })
    seen.set(id, r)
  }
}, 200)
