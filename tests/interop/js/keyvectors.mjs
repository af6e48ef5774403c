// Signature vectors for the three libp2p key types fastn verifies
// through libcrypto (RSA, Secp256k1, ECDSA), made by the pinned
// @libp2p/crypto: for each, the PublicKey protobuf, a signature over
// MESSAGE and the PeerID (@libp2p/peer-id's, and for ECDSA, which it
// does not name, the sha2-256 multihash of the protobuf in base58btc as
// peer-ids.md says). Keys and ECDSA signatures are random, so the output
// differs on each run: tests/unit/peer_key_vectors.h holds one run's,
// checked by tests/unit/test_peer_key.c.
// Usage: node keyvectors.mjs > tests/unit/peer_key_vectors.h
import './node20-shim.mjs'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { sha256 } from 'multiformats/hashes/sha2'
import { base58btc } from 'multiformats/bases/base58'

const MESSAGE = 'noise-libp2p-static-key:fastn peer key vector'
const hex = (u8) => Buffer.from(u8).toString('hex').replace(/(..)/g, '\\x$1')
const wrap = (s) => s.match(/.{1,64}/g).map((l) => `    "${l}"`).join('\n')
const out = ['/* Made by tests/interop/js/keyvectors.mjs (@libp2p/crypto); do not edit. */',
  `#define PEER_KEY_VEC_MESSAGE "${MESSAGE}"`]
for (const [name, type] of [['rsa', 'RSA'], ['secp256k1', 'secp256k1'], ['ecdsa', 'ECDSA']]) {
  const key = await generateKeyPair(type)
  const pb = publicKeyToProtobuf(key.publicKey)
  const sig = await key.sign(new TextEncoder().encode(MESSAGE))
  let id
  try {
    id = peerIdFromPublicKey(key.publicKey).toString()
  } catch {
    id = base58btc.encode((await sha256.digest(pb)).bytes).slice(1)
  }
  out.push(`static const char peer_key_vec_${name}_key[] =\n${wrap(hex(pb))};`)
  out.push(`static const char peer_key_vec_${name}_sig[] =\n${wrap(hex(sig))};`)
  out.push(`static const char peer_key_vec_${name}_id[] = "${id}";`)
}
process.stdout.write(out.join('\n') + '\n')
