// A js-libp2p node for bench/net/reach.sh (issue 12's benchmark): TCP +
// Noise + yamux, identify, ping, the circuit relay v2 transport, DCUtR and
// a kad-dht client (/ipfs/kad/1.0.0), all pinned in package.json.
//   --listen ADDR       TCP listen address
//   --dial-port P       every outbound TCP dial leaves from port P (so a
//                       port-preserving NAT maps it to P, as DCUtR needs)
//   --announce ADDR     also advertised (identify, DCUtR CONNECT)
//   --relay ADDR        a relay (…/p2p/RELAY) to reserve a slot on
//   --bootstrap ADDR    the DHT's bootstrap peer, dialed at start
//   --find PEERID       once the routing table has a peer: find PEERID in
//                       the DHT (peerRouting.findPeer), dial it (through
//                       what was found: the circuit address when it is
//                       behind a NAT), then wait up to --punch-wait
//                       seconds for a direct (not limited) connection
//   --punch-wait S      (default 10)
//   --keep-initiator    a workaround, for the benchmark's worked-around
//                       row: js-libp2p 3.3.11's dial queue
//                       (libp2p/dist/src/connection-manager/dial-queue.js,
//                       DialQueue.dial) passes on only peerId, priority,
//                       multiaddrs, signal and onProgress, so dcutr's
//                       `initiator: false` (B answers the punch as the
//                       listener) never reaches the upgrader and both
//                       ends start Noise as initiators ("handshake stage
//                       1 validation fail"); this keeps it, by marking
//                       the addresses such a dial asks for and adding
//                       the option when the transport dials them
//   --timeout S         exit 124 past S seconds
// Prints JSON lines: ready (peer_id), reservation (addr), table (size),
// and with --find one result line: {"event":"reach", lookup_ms,
// connect_ms, limited (the dial's connection), punch_ms (or null) and
// punch_error (why no direct connection came)}; then exits (--find) or
// runs until killed.
import './node20-shim.mjs'
import { parseArgs } from 'node:util'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { emit } from './common.mjs'
import { punchNodeOptions } from './punch-node.mjs'

const { values: o } = parseArgs({
  options: {
    listen: { type: 'string', default: '/ip4/0.0.0.0/tcp/0' },
    'dial-port': { type: 'string' },
    announce: { type: 'string', multiple: true },
    relay: { type: 'string' },
    bootstrap: { type: 'string' },
    find: { type: 'string' },
    'punch-wait': { type: 'string', default: '10' },
    'keep-initiator': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '60' }
  }
})
setTimeout(() => {
  emit('timeout')
  process.exit(124)
}, Number(o.timeout) * 1000).unref()

const node = await createLibp2p(punchNodeOptions({
  listen: o.listen, relay: o.relay, dialPort: o['dial-port'], announce: o.announce
}, {
  identify: identify(),
  ping: ping(),
  dcutr: dcutr(),
  dht: kadDHT({
    protocol: '/ipfs/kad/1.0.0',
    // the default peerInfoMapper: private addresses left out, as
    // a js-libp2p node on the internet has it
    clientMode: true
  })
}))
if (o['keep-initiator']) {
  const { connectionManager: cm, transportManager: tm } = node.components
  const responder = new Set()
  const key = (ma) => String(ma).split('/p2p/')[0]
  const open = cm.openConnection.bind(cm)
  cm.openConnection = async (to, opts = {}) => {
    const addrs = opts.initiator === false && Array.isArray(to) ? to.map(key) : []
    addrs.forEach((a) => responder.add(a))
    try {
      return await open(to, opts)
    } finally {
      addrs.forEach((a) => responder.delete(a))
    }
  }
  const dial = tm.dial.bind(tm)
  tm.dial = (ma, opts = {}) => dial(ma, responder.has(key(ma)) ? { ...opts, initiator: false } : opts)
}
await node.start()
emit('ready', { peer_id: node.peerId.toString() })

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
if (o.bootstrap != null) {
  await node.dial(multiaddr(o.bootstrap))
  for (let i = 0; i < 200 && node.services.dht.routingTable.size < 1; i++) await sleep(25)
  emit('table', { size: node.services.dht.routingTable.size })
}
if (o.relay != null) {
  for (let i = 0; i < 400; i++) {
    const a = node.getMultiaddrs().map(String).find((x) => x.includes('/p2p-circuit'))
    if (a != null) {
      emit('reservation', { addr: a })
      break
    }
    await sleep(25)
  }
}

if (o.find != null) {
  const target = peerIdFromString(o.find)
  const r1 = (x) => x == null ? null : Math.round(x * 10) / 10
  let direct = null
  node.addEventListener('connection:open', (evt) => {
    const c = evt.detail
    if (c.remotePeer.equals(target) && c.limits == null && direct == null) direct = performance.now()
  })
  const t0 = performance.now()
  let found
  try {
    found = await node.peerRouting.findPeer(target, { signal: AbortSignal.timeout(20000) })
  } catch (err) {
    emit('reach', { error: `lookup: ${err.message}` })
    process.exit(1)
  }
  const t1 = performance.now()
  let conn
  try {
    conn = await node.dial(target, { signal: AbortSignal.timeout(20000) })
  } catch (err) {
    emit('reach', { lookup_ms: r1(t1 - t0), addrs: found.multiaddrs.map(String), error: `dial: ${err.message}` })
    process.exit(1)
  }
  const t2 = performance.now()
  const limited = conn.limits != null
  const until = t2 + Number(o['punch-wait']) * 1000
  while (limited && direct == null && performance.now() < until) await sleep(5)
  emit('reach', {
    lookup_ms: r1(t1 - t0),
    connect_ms: r1(t2 - t1),
    limited,
    addrs: found.multiaddrs.map(String),
    punch_ms: limited && direct != null ? r1(direct - t2) : null,
    punch_error: limited && direct == null ? `no direct connection within ${o['punch-wait']} s` : null
  })
  await node.stop()
  process.exit(0)
}
