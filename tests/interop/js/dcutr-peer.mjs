// A js-libp2p node that hole-punches with @libp2p/dcutr (pinned in
// package.json), for tests/interop/dcutr_js_netns.sh: TCP + Noise + yamux,
// identify, ping, the circuit relay v2 transport and DCUtR, serving
// /echo/1.0.0. js-libp2p's default agent version is kept (fastnd decides
// the hole punch's Noise roles by it).
//   --listen ADDR       TCP listen address
//   --relay ADDR        a relay (…/p2p/RELAY) to reserve a slot on
//   --dial-port P       every outbound TCP dial leaves from port P
//                       (@libp2p/tcp's dialOpts, passed to net.connect)
//   --announce ADDR     also advertised (identify, DCUtR CONNECT)
//   --dial ADDR         dial ADDR (a /p2p-circuit address) once ready
//   --timeout S         exit 124 past S seconds
// Prints JSON lines: ready (peer_id, addrs), reservation (addr, once the
// circuit address is ours), connection / connection-closed (peer_id,
// limited, remote_addr, direction) and, on each non-limited connection to
// a peer that also has a limited one, ping (rtt_ms over that connection).
import './node20-shim.mjs'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { chunkBytes, emit } from './common.mjs'
import { punchNodeOptions } from './punch-node.mjs'

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '/ip4/0.0.0.0/tcp/0' },
    relay: { type: 'string' },
    'dial-port': { type: 'string' },
    announce: { type: 'string', multiple: true },
    dial: { type: 'string' },
    timeout: { type: 'string', default: '120' }
  }
})
setTimeout(() => {
  emit('timeout')
  process.exit(124)
}, Number(values.timeout) * 1000).unref()

const node = await createLibp2p(punchNodeOptions({
  listen: values.listen, relay: values.relay, dialPort: values['dial-port'], announce: values.announce
}, {
  identify: identify(),
  ping: ping(),
  dcutr: dcutr()
}))

const describe = (c) => ({
  peer_id: c.remotePeer.toString(),
  limited: c.limits != null,
  remote_addr: c.remoteAddr.toString(),
  direction: c.direction
})

/** One ping (32 bytes out, the same 32 back) on this connection. */
async function pingOn (conn) {
  const stream = await conn.newStream('/ipfs/ping/1.0.0')
  const data = randomBytes(32)
  const t0 = performance.now()
  const got = await new Promise((resolve, reject) => {
    const parts = []
    let n = 0
    stream.addEventListener('message', (evt) => {
      const b = chunkBytes(evt.data)
      parts.push(Buffer.from(b))
      n += b.byteLength
      if (n >= 32) resolve(Buffer.concat(parts))
    })
    stream.addEventListener('close', (evt) => reject(evt.error ?? new Error('ping stream closed')))
    stream.send(data)
  })
  const rtt = performance.now() - t0
  await stream.close()
  if (!got.subarray(0, 32).equals(data)) throw new Error('ping answer differs')
  return rtt
}

node.addEventListener('connection:open', (evt) => {
  const c = evt.detail
  emit('connection', describe(c))
  if (c.limits != null) return
  // a direct connection to a peer we were relayed to: the hole punch's
  setTimeout(() => {
    pingOn(c).then((rtt) => emit('ping', { ...describe(c), rtt_ms: Math.round(rtt * 100) / 100 }),
      (err) => emit('ping-error', { ...describe(c), message: err.message }))
  }, 200)
})
node.addEventListener('connection:close', (evt) => emit('connection-closed', describe(evt.detail)))

await node.handle('/echo/1.0.0', async (stream) => {
  stream.addEventListener('message', (evt) => stream.send(chunkBytes(evt.data)))
  stream.addEventListener('end', () => { stream.close().catch(() => {}) })
}, { runOnLimitedConnection: true })

await node.start()
emit('ready', { peer_id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
if (values.relay != null) {
  const seen = () => node.getMultiaddrs().map(String).find(a => a.includes('/p2p-circuit'))
  const t = setInterval(() => {
    const a = seen()
    if (a != null) {
      clearInterval(t)
      emit('reservation', { addr: a })
    }
  }, 100)
}
if (values.dial != null) {
  try {
    const c = await node.dial(multiaddr(values.dial))
    emit('dialed', describe(c))
  } catch (err) {
    emit('dial-error', { message: err.message })
  }
}
