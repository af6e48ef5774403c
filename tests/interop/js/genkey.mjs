// Writes a new Ed25519 identity as js-libp2p makes it: a libp2p protobuf
// PrivateKey (68 bytes: 08 01 12 40 + 32-byte seed + 32-byte public key),
// mode 0600, so a test can check that fastn reads js-made key files.
// Usage: node genkey.mjs [--type RSA|secp256k1] FILE   (refuses to
// overwrite FILE; --type makes a key of another libp2p key type)
// Output: the PeerID of the new key on one line. Exit 0 ok, 1 error, 2 usage.
import './node20-shim.mjs'
import { existsSync } from 'node:fs'
import { writeNewKey, peerIdOf } from './common.mjs'

const args = process.argv.slice(2)
let type = 'Ed25519'
if (args[0] === '--type' && ['RSA', 'secp256k1'].includes(args[1])) {
  type = args[1]
  args.splice(0, 2)
}
if (args.length !== 1 || args[0].startsWith('-')) {
  process.stderr.write('usage: node genkey.mjs [--type RSA|secp256k1] FILE\n')
  process.exit(2)
}
if (existsSync(args[0])) {
  process.stderr.write(`genkey.mjs: ${args[0]} exists; not overwriting it\n`)
  process.exit(1)
}
try {
  const key = await writeNewKey(args[0], type)
  process.stdout.write(peerIdOf(key).toString() + '\n')
} catch (err) {
  process.stderr.write(`genkey.mjs: ${err.message}\n`)
  process.exit(1)
}
