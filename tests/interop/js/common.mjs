// Shared pieces of the js-libp2p test peers: key files, the libp2p node
// they all run (TCP + Noise + yamux, identify, ping), sizes on the command
// line and JSON-line output. Import node20-shim.mjs before this module.
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

export const AGENT = 'fastn-js-peer/1 (js-libp2p 3.3.11)'

// for scripts outside this folder (bench/net), which cannot import the
// packages installed here by name
export { multiaddr }

/** Reads a libp2p protobuf PrivateKey file (any type @libp2p/crypto knows,
 * including the legacy 96-byte Ed25519 form). */
export async function loadKey (file) {
  const bytes = await readFile(file)
  try {
    return privateKeyFromProtobuf(new Uint8Array(bytes))
  } catch (err) {
    throw new Error(`${file}: not a libp2p protobuf private key (${err.message})`)
  }
}

/** Writes a fresh key as a protobuf PrivateKey file (0600): Ed25519 (68
 * bytes) unless `type` names another ('RSA', 'secp256k1'). */
export async function writeNewKey (file, type = 'Ed25519') {
  const key = await generateKeyPair(type)
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 })
  return key
}

export function peerIdOf (key) {
  return peerIdFromPrivateKey(key)
}

/** A js-libp2p node as the interop tests need it: TCP, Noise, yamux,
 * identify and ping; listening on `listen` (a list of multiaddr strings).
 * `connectionManager` (optional) overrides js-libp2p's limits, e.g. its
 * 5 inbound connections a second per host, which a benchmark of new
 * connections exceeds. `push` adds identify push (/ipfs/id/push/1.0.0:
 * served, and sent when the node's own addresses or protocols change).
 * `dht` ('server' or 'client') adds @libp2p/kad-dht on /ipfs/kad/1.0.0 in
 * that mode, keeping loopback and private addresses in its records
 * (passthroughMapper: the tests run on loopback). */
export async function createNode ({ privateKey, listen = [], agent = AGENT, connectionManager, push = false, dht = null }) {
  return createLibp2p({
    privateKey,
    ...(connectionManager != null ? { connectionManager } : {}),
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    nodeInfo: { userAgent: agent },
    services: {
      identify: identify(),
      ...(push ? { identifyPush: identifyPush() } : {}),
      ...(dht != null
        ? {
            dht: kadDHT({
              protocol: '/ipfs/kad/1.0.0',
              clientMode: dht === 'client',
              peerInfoMapper: passthroughMapper
            })
          }
        : {}),
      ping: ping()
    }
  })
}

/** A daemon control address as p2pd takes it (-listen=/unix/PATH, PATH's
 * slashes as they are) as a js multiaddr, which wants PATH URI-encoded as
 * one component: /unix/%2Ftmp%2Fx.sock. Other addresses pass through. */
export function controlMultiaddr (text) {
  if (text.startsWith('/unix/')) {
    return multiaddr('/unix/' + encodeURIComponent(text.slice('/unix'.length)))
  }
  return multiaddr(text)
}

/** Parses a byte count: a plain integer or one with a binary suffix
 * K, M or G (KiB, MiB, GiB), e.g. 1048576 or 1M. */
export function parseSize (text, what) {
  const m = /^(\d+)([KMG]?)(i?B)?$/i.exec(String(text).trim())
  if (m == null) throw new UsageError(`${what}: not a byte count: ${text}`)
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()]
  const n = Number(m[1]) * mult
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what}: too large: ${text}`)
  return n
}

export class UsageError extends Error {}

// A test may read the first lines and close the pipe (`| head -1`): the
// peer then keeps running, printing nothing, rather than dying of EPIPE.
let stdoutGone = false
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err
  stdoutGone = true
})

/** Prints one event as a JSON line on stdout. */
export function emit (event, fields = {}) {
  if (stdoutGone) return
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

/** Sends `data` on a libp2p 3.x stream, waiting while its buffer is full.
 * It waits for the stream's 'drain' event rather than stream.onDrain():
 * in @libp2p/utils 7.4.1 onDrain() keeps returning the promise of the first
 * drain, already resolved, so a writer using it queues without bound. */
export async function sendWithBackpressure (stream, data) {
  // send() may keep queueing on a stream the remote has reset: stop there
  if (stream.writeStatus !== 'writable' || ['reset', 'aborted', 'closed'].includes(stream.status)) {
    throw new Error(`stream is ${stream.status} (write side ${stream.writeStatus})`)
  }
  if (!stream.send(data) && stream.writableNeedsDrain) {
    await waitForDrain(stream)
  }
}

/** Resolves on the stream's next 'drain' event; rejects if it closes first. */
export function waitForDrain (stream) {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.removeEventListener('close', onClose)
      resolve()
    }
    const onClose = (evt) => {
      stream.removeEventListener('drain', onDrain)
      reject(evt.error ?? new Error('stream closed while waiting to send'))
    }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  })
}

/** Reads a stream to its end, handing each chunk (a Uint8Array) to
 * `onChunk`; resolves with { bytes, lateBytes }. It does not use the
 * stream's async iterator, which in js-libp2p 3.x ends as soon as the remote
 * closes its write side and so drops (a) data still buffered while the
 * stream is paused and (b) data in a yamux frame that also carries FIN,
 * which @libp2p/yamux delivers after announcing the FIN. Here the end waits
 * for buffered data, and data arriving right after the end announcement in
 * the same frame is still read and counted as lateBytes, so a test can tell
 * that a peer sends data and FIN together (which js apps that iterate lose). */
export function readStream (stream, onChunk) {
  return new Promise((resolve, reject) => {
    let bytes = 0
    let lateBytes = 0
    let ended = false
    let settled = false
    const finish = (err) => {
      if (settled) return
      settled = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      if (err != null) reject(err)
      else resolve({ bytes, lateBytes })
    }
    const onMessage = (evt) => {
      const data = chunkBytes(evt.data)
      bytes += data.byteLength
      if (ended) lateBytes += data.byteLength
      try {
        onChunk(data)
      } catch (err) {
        stream.abort(err)
        finish(err)
      }
    }
    // yamux announces a FIN before delivering the data of the same frame,
    // synchronously: finish after the current call stack, not at once
    const onEnd = () => {
      ended = true
      queueMicrotask(() => finish())
    }
    const onClose = (evt) => finish(evt.error)
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    if (stream.readableEnded) onEnd()
  })
}

/** The bytes of a chunk read from a stream (Uint8Array or Uint8ArrayList). */
export function chunkBytes (chunk) {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray()
}

export function mbps (bytes, ms) {
  return ms > 0 ? round(bytes / 1e6 / (ms / 1e3)) : null
}

export function round (x, digits = 2) {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
