// A lying DHT server for the bad-input test (tests/interop/dht_js.sh): a
// js-libp2p node that serves /ipfs/kad/1.0.0 itself and answers every
// request, whatever it asks, with
//   --mode flood: 1000 closer peers (a bound is 64 per message)
//   --mode loop:  20 new made-up closer peers at its own address, every
//                 time (a lookup that followed them would never end)
// and counts the requests it got ("request" events).
import './node20-shim.mjs'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createNode, emit, readStream } from './common.mjs'

const { values: o } = parseArgs({
  options: { mode: { type: 'string' }, timeout: { type: 'string' } }
})
setTimeout(() => process.exit(0), Number(o.timeout ?? 60) * 1000).unref()

function varint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}
/** One length-delimited protobuf field: its key byte, length, bytes. */
const field = (key, bytes) => [key, ...varint(bytes.length), ...bytes]

/** A made-up Ed25519 PeerID (identity multihash of a random key). */
const fakeId = () => [0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...randomBytes(32)]

const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
const self = node.getMultiaddrs()[0]
const selfAddr = self.decapsulateCode(421).bytes
let requests = 0
await node.handle('/ipfs/kad/1.0.0', async (stream) => {
  requests++
  emit('request', { n: requests })
  try {
    await readStream(stream, () => {})
    const body = [0x08, 0x04] // type FIND_NODE
    const n = o.mode === 'flood' ? 1000 : 20
    for (let i = 0; i < n; i++) {
      const p = field(0x0a, fakeId()) // Peer.id (1)
      if (o.mode !== 'flood') p.push(...field(0x12, [...selfAddr])) // addrs (2)
      body.push(...field(0x42, p)) // Message.closerPeers (8)
    }
    stream.send(Uint8Array.from([...varint(body.length), ...body]))
    await stream.close()
  } catch (e) {
    stream.abort(e)
  }
}, { runOnLimitedConnection: false })
emit('ready', { peer_id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
