// Known-answer vectors for fastn's reachability cores, made by the pinned
// js-libp2p packages themselves: a kad-dht FIND_NODE request and answer
// and a PUT_VALUE (@libp2p/kad-dht's message codec), a circuit relay v2
// reservation answer with a real voucher (RecordEnvelope.seal as the
// relay server makes it) and a stop CONNECT (@libp2p/circuit-relay-v2),
// a DCUtR CONNECT (@libp2p/dcutr), an AutoNAT dial and answer
// (@libp2p/autonat), and an mDNS answer exactly as @libp2p/mdns's
// gotQuery builds it and multicast-dns puts it on the wire.
//
// Usage: node vectors.mjs > tests/unit/js_vectors.h
// Deterministic (fixed seeds, fixed times): tests/interop/js_vectors.sh
// checks that the committed header is what these packages produce.
// The codecs are internal modules of the packages (their "exports" only
// name the package root), so they are imported by file path.
import './node20-shim.mjs'
import { generateKeyPairFromSeed, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import dnsPacket from 'dns-packet'

const mod = (p) => import(new URL(`./node_modules/${p}`, import.meta.url))
const kad = await mod('@libp2p/kad-dht/dist/src/message/dht.js')
const relay = await mod('@libp2p/circuit-relay-v2/dist/src/pb/index.js')
const voucherMod = await mod('@libp2p/circuit-relay-v2/dist/src/server/reservation-voucher.js')
const dcutr = await mod('@libp2p/dcutr/dist/src/pb/message.js')
const autonat = await mod('@libp2p/autonat/dist/src/pb/index.js')
const mdnsQuery = await mod('@libp2p/mdns/dist/src/query.js')

async function key (n) {
  const seed = new Uint8Array(32).fill(n)
  const priv = await generateKeyPairFromSeed('Ed25519', seed)
  return { priv, id: peerIdFromPrivateKey(priv) }
}

const out = []
function bytes (name, u8, comment) {
  const hex = [...u8].map((b) => '0x' + b.toString(16).padStart(2, '0'))
  const lines = []
  for (let i = 0; i < hex.length; i += 12) lines.push('    ' + hex.slice(i, i + 12).join(', ') + ',')
  out.push(`/* ${comment} */`)
  out.push(`static const uint8_t ${name}[] = {\n${lines.join('\n')}\n};`)
}
function text (name, s, comment) {
  out.push(`/* ${comment} */`)
  out.push(`static const char ${name}[] = "${s}";`)
}

const relayKey = await key(1)
const peerKey = await key(2)
const targetKey = await key(3)
text('js_relay_id', relayKey.id.toString(), 'PeerID of the relay (Ed25519 seed 32 x 0x01)')
text('js_peer_id', peerKey.id.toString(), 'PeerID of the reserving peer (seed 32 x 0x02)')
text('js_target_id', targetKey.id.toString(), 'PeerID of a third peer (seed 32 x 0x03)')

// --- Kademlia ---------------------------------------------------------------
const pub = multiaddr('/ip4/1.2.3.4/tcp/4001')
bytes('js_kad_find_node', kad.Message.encode({
  type: kad.MessageType.FIND_NODE,
  key: targetKey.id.toMultihash().bytes
}), '@libp2p/kad-dht: FIND_NODE for js_target_id (body, no length prefix)')
bytes('js_kad_find_node_answer', kad.Message.encode({
  type: kad.MessageType.FIND_NODE,
  key: targetKey.id.toMultihash().bytes,
  closer: [relayKey, peerKey].map((k) => ({
    id: k.id.toMultihash().bytes,
    multiaddrs: [pub.bytes, multiaddr('/ip4/1.2.3.4/udp/4001/quic-v1').bytes],
    connection: kad.ConnectionType.CONNECTED
  }))
}), '@libp2p/kad-dht: its answer: relay and peer, each with a TCP and a QUIC address')
const pkKey = new Uint8Array([...new TextEncoder().encode('/pk/'), ...peerKey.id.toMultihash().bytes])
bytes('js_kad_put_pk', kad.Message.encode({
  type: kad.MessageType.PUT_VALUE,
  key: pkKey,
  record: kad.Record.encode({ key: pkKey, value: publicKeyToProtobuf(peerKey.priv.publicKey) })
}), '@libp2p/kad-dht: PUT_VALUE of /pk/<js_peer_id> (type 0 is left out, proto3 style)')

// --- circuit relay v2 ---------------------------------------------------------
const expire = 1700003600n
const envelope = await RecordEnvelope.seal(new voucherMod.ReservationVoucherRecord({
  peer: peerKey.id, relay: relayKey.id, expiration: expire
}), relayKey.priv)
bytes('js_relay_voucher', envelope.marshal(),
  '@libp2p/circuit-relay-v2 + @libp2p/peer-record: the voucher the relay signs for js_peer_id, expiring 1700003600')
bytes('js_relay_reserve_ok', relay.HopMessage.encode({
  type: relay.HopMessage.Type.STATUS,
  status: relay.Status.OK,
  reservation: {
    expire,
    addrs: [multiaddr(`/ip4/1.2.3.4/tcp/4001/p2p/${relayKey.id}`).bytes],
    voucher: {
      publicKey: publicKeyToProtobuf(envelope.publicKey),
      payloadType: envelope.payloadType,
      payload: { peer: peerKey.id.toMultihash().bytes, relay: relayKey.id.toMultihash().bytes, expiration: expire },
      signature: envelope.signature
    }
  },
  limit: { duration: 120, data: 131072n }
}), '@libp2p/circuit-relay-v2: the relay server\'s answer to RESERVE (as makeReservation builds it)')
bytes('js_relay_stop_connect', relay.StopMessage.encode({
  type: relay.StopMessage.Type.CONNECT,
  peer: { id: targetKey.id.toMultihash().bytes, addrs: [] },
  limit: { duration: 120, data: 131072n }
}), '@libp2p/circuit-relay-v2: stop CONNECT from js_target_id')

// --- DCUtR and AutoNAT ----------------------------------------------------------
bytes('js_dcutr_connect', dcutr.HolePunch.encode({
  type: dcutr.HolePunch.Type.CONNECT,
  observedAddresses: [pub.bytes, multiaddr('/ip4/192.168.1.2/tcp/4001').bytes]
}), '@libp2p/dcutr: CONNECT with a public and a private address')
bytes('js_autonat_dial', autonat.Message.encode({
  type: autonat.Message.MessageType.DIAL,
  dial: { peer: { id: peerKey.id.toMultihash().bytes, addrs: [pub.bytes] } }
}), '@libp2p/autonat: DIAL from js_peer_id at 1.2.3.4:4001')
bytes('js_autonat_ok', autonat.Message.encode({
  type: autonat.Message.MessageType.DIAL_RESPONSE,
  dialResponse: { status: autonat.Message.ResponseStatus.OK, addr: pub.bytes }
}), '@libp2p/autonat: DIAL_RESPONSE OK for 1.2.3.4:4001')

// --- mDNS ------------------------------------------------------------------------
let answers = null
const fakeMdns = { respond: (a) => { answers = a } }
const peerName = 'fastnvectorsfastnvectorsfastnvectors1234'
mdnsQuery.gotQuery({ questions: [{ name: '_p2p._udp.local', type: 'PTR' }] }, fakeMdns, peerName,
  [multiaddr(`/ip4/192.168.1.7/tcp/4001/p2p/${peerKey.id}`),
    multiaddr(`/ip6/fe80::1/tcp/4001/p2p/${peerKey.id}`)],
  '_p2p._udp.local', true)
// what multicast-dns's respond() sends (index.js: type response, AA flag)
bytes('js_mdns_answer', dnsPacket.encode({ type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, answers }),
  `@libp2p/mdns: the answer of peer ${peerName} (js_peer_id) at 192.168.1.7 and fe80::1`)
bytes('js_mdns_query', dnsPacket.encode({ type: 'query', questions: [{ name: '_p2p._udp.local', type: 'PTR' }] }),
  '@libp2p/mdns (queryLAN through multicast-dns): the query')

process.stdout.write(`/*
 * Known-answer vectors made by js-libp2p (tests/interop/js/vectors.mjs,
 * with the versions pinned in tests/interop/js/package.json). Generated:
 * do not edit; tests/interop/js_vectors.sh checks it is up to date.
 */
#ifndef FASTN_TEST_JS_VECTORS_H
#define FASTN_TEST_JS_VECTORS_H

#include <stdint.h>

/* clang-format off */
${out.join('\n')}
/* clang-format on */

#endif
`)
