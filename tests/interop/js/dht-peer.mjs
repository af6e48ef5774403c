// One js-libp2p node with @libp2p/kad-dht in server mode, for the DHT
// interop test (tests/interop/dht_js.sh): it listens on loopback, dials its
// bootstrap peers, waits for its routing table, then runs the steps given,
// in this order, printing each result as a JSON line; --stay keeps it
// serving (as a DHT server) until the timeout. --then FILE: once the file
// appears (JSON {"find_peer": [IDS], "find_providers": [CIDS],
// "get_pk": [IDS]}), runs those too, each result one line ("peer",
// "provider" with its cid, "value" with its key, "missing" for a lookup
// that found nothing), then "then-done", and goes on serving. Loopback addresses are
// kept in DHT records (passthroughMapper), as the test needs.
import './node20-shim.mjs'
import { parseArgs } from 'node:util'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { emit } from './common.mjs'

const USAGE = `usage: node dht-peer.mjs [--bootstrap MA]... [--min-peers N]
  [--provide CID]... [--find-providers CID] [--find-peer PEERID]
  [--put-pk] [--get-pk PEERID] [--stay] [--then FILE] [--timeout SEC]`

const { values: o } = parseArgs({
  options: {
    bootstrap: { type: 'string', multiple: true },
    'min-peers': { type: 'string' },
    provide: { type: 'string', multiple: true },
    'find-providers': { type: 'string' },
    'find-peer': { type: 'string' },
    'put-pk': { type: 'boolean' },
    'get-pk': { type: 'string' },
    stay: { type: 'boolean' },
    then: { type: 'string' },
    timeout: { type: 'string' }
  }
})
const timeout = Number(o.timeout ?? 60) * 1000
setTimeout(() => { emit('error', { step: 'timeout' }); process.exit(124) }, timeout).unref()

function fail (step, err) {
  emit('error', { step, message: String(err?.message ?? err) })
  process.exit(1)
}

function pkKey (peerId) {
  const mh = peerId.toMultihash().bytes
  const key = new Uint8Array(4 + mh.length)
  key.set(new TextEncoder().encode('/pk/'))
  key.set(mh, 4)
  return key
}

const hex = (b) => Buffer.from(b).toString('hex')

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      protocol: '/ipfs/kad/1.0.0',
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      allowQueryWithZeroPeers: true
    })
  }
}).catch((e) => fail('start', e))
emit('ready', { peer_id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })

for (const ma of o.bootstrap ?? []) {
  await node.dial(multiaddr(ma)).catch((e) => fail('bootstrap', e))
}
const min = Number(o['min-peers'] ?? 1)
for (let i = 0; i < 200 && node.services.dht.routingTable.size < min; i++) {
  await new Promise((resolve) => setTimeout(resolve, 100))
}
emit('table', { size: node.services.dht.routingTable.size })

const signal = () => AbortSignal.timeout(20000)
for (const c of o.provide ?? []) {
  await node.contentRouting.provide(CID.parse(c), { signal: signal() })
    .catch((e) => fail('provide', e))
  emit('provided', { cid: c })
}
if (o['find-providers'] != null) {
  const cid = CID.parse(o['find-providers'])
  try {
    for await (const p of node.contentRouting.findProviders(cid, { signal: signal() })) {
      emit('provider', { peer_id: p.id.toString(), addrs: p.multiaddrs.map(String) })
    }
  } catch (e) {
    if (e.name !== 'AbortError' && e.name !== 'TimeoutError') fail('find-providers', e)
  }
  emit('providers-done')
}
if (o['find-peer'] != null) {
  const p = await node.peerRouting.findPeer(peerIdFromString(o['find-peer']), { signal: signal() })
    .catch((e) => fail('find-peer', e))
  emit('peer', { peer_id: p.id.toString(), addrs: p.multiaddrs.map(String) })
}
if (o['put-pk']) {
  await node.contentRouting.put(pkKey(node.peerId), publicKeyToProtobuf(node.peerId.publicKey), { signal: signal() })
    .catch((e) => fail('put', e))
  emit('put', { value_hex: hex(publicKeyToProtobuf(node.peerId.publicKey)) })
}
if (o['get-pk'] != null) {
  const v = await node.contentRouting.get(pkKey(peerIdFromString(o['get-pk'])), { signal: signal() })
    .catch((e) => fail('get', e))
  emit('value', { value_hex: hex(v) })
}
emit('done')
if (o.then != null) {
  const { readFile } = await import('node:fs/promises')
  let steps = null
  while (steps == null) {
    steps = await readFile(o.then, 'utf8').then(JSON.parse, () => null)
    if (steps == null) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // a loaded machine (a test runs 20 nodes at once): more room per step
  const slow = () => AbortSignal.timeout(60000)
  for (const id of steps.find_peer ?? []) {
    if (id === node.peerId.toString()) continue
    const p = await node.peerRouting.findPeer(peerIdFromString(id), { signal: slow() }).catch(() => null)
    if (p == null || p.multiaddrs.length === 0) emit('missing', { step: 'find-peer', key: id })
    else emit('peer', { peer_id: p.id.toString(), addrs: p.multiaddrs.map(String) })
  }
  for (const c of steps.find_providers ?? []) {
    let n = 0
    try {
      for await (const p of node.contentRouting.findProviders(CID.parse(c), { signal: slow() })) {
        emit('provider', { cid: c, peer_id: p.id.toString(), addrs: p.multiaddrs.map(String) })
        n++
      }
    } catch {}
    if (n === 0) emit('missing', { step: 'find-providers', key: c })
  }
  for (const id of steps.get_pk ?? []) {
    const v = await node.contentRouting.get(pkKey(peerIdFromString(id)), { signal: slow() }).catch(() => null)
    if (v == null) emit('missing', { step: 'get-pk', key: id })
    else emit('value', { key: id, value_hex: hex(v) })
  }
  emit('then-done')
}
if (!o.stay) {
  await node.stop()
  process.exit(0)
}
void USAGE
