// js-libp2p nodes with @libp2p/autonat-v2 (pinned in package.json), for
// tests/interop/autonat2_js.sh: one node per --listen address (TCP +
// Noise + yamux, identify, ping, autoNATv2: it serves
// /libp2p/autonat/2/dial-request and asks peers to check its own
// addresses). It prints {"event":"ready","peer_id":...,"addrs":[...]} per
// node once listening, then, every 500 ms, one {"event":"addrs",...} line
// per node whose addresses' verified state changed, each address with
// `verified` (what the autoNATv2 client decided). --dial ADDR connects
// every node to ADDR (the peer to ask, once its identify says it serves
// v2). --timeout bounds the run (exit 124 past it).
import './node20-shim.mjs'
import { parseArgs } from 'node:util'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { AGENT, emit } from './common.mjs'

const { values } = parseArgs({
  options: {
    listen: { type: 'string', multiple: true, default: ['/ip4/0.0.0.0/tcp/0'] },
    dial: { type: 'string', multiple: true, default: [] },
    timeout: { type: 'string', default: '120' }
  }
})
setTimeout(() => {
  emit('timeout')
  process.exit(124)
}, Number(values.timeout) * 1000).unref()

const nodes = []
for (const listen of values.listen) {
  const node = await createLibp2p({
    addresses: { listen: [listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000 },
    nodeInfo: { userAgent: AGENT },
    services: {
      identify: identify(),
      ping: ping(),
      autoNAT: autoNATv2({ startupDelay: 100, refreshInterval: 2000 })
    }
  })
  await node.start()
  nodes.push(node)
  emit('ready', { peer_id: node.peerId.toString(), listen, addrs: node.getMultiaddrs().map(String) })
}
for (const node of nodes) {
  for (const a of values.dial) {
    node.dial(multiaddr(a)).catch(err => emit('dial-error', { addr: a, error: err.message }))
  }
}
const last = new Map()
setInterval(() => {
  for (const node of nodes) {
    const addrs = node.components.addressManager.getAddressesWithMetadata()
      .map(a => ({ addr: a.multiaddr.toString(), verified: a.verified, type: a.type }))
    const text = JSON.stringify(addrs)
    if (last.get(node) !== text) emit('addrs', { peer_id: node.peerId.toString(), addrs })
    last.set(node, text)
  }
}, 500)
