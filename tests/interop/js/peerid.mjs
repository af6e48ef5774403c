// Prints the PeerID that js-libp2p (@libp2p/crypto, @libp2p/peer-id)
// computes for a libp2p protobuf private key file, so a test can check that
// fastn's C code agrees. Usage: node peerid.mjs [--json] KEYFILE
// Output: the PeerID on one line, or with --json one JSON line
// {"peerId":"12D3KooW...","type":"Ed25519","publicKey":"<hex of the protobuf PublicKey>"}.
// Exit 0 ok, 1 unreadable or invalid key file, 2 bad usage.
import './node20-shim.mjs'
import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { loadKey, peerIdOf } from './common.mjs'

const args = process.argv.slice(2)
const json = args[0] === '--json'
if (json) args.shift()
if (args.length !== 1 || args[0].startsWith('-')) {
  process.stderr.write('usage: node peerid.mjs [--json] KEYFILE\n')
  process.exit(2)
}
try {
  const key = await loadKey(args[0])
  const peerId = peerIdOf(key).toString()
  if (json) {
    const pub = Buffer.from(publicKeyToProtobuf(key.publicKey)).toString('hex')
    process.stdout.write(JSON.stringify({ peerId, type: key.type, publicKey: pub }) + '\n')
  } else {
    process.stdout.write(peerId + '\n')
  }
} catch (err) {
  process.stderr.write(`peerid.mjs: ${err.message}\n`)
  process.exit(1)
}
