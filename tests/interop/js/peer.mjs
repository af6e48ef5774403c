// One js-libp2p node on the command line, for fastn-p2p's interop tests and
// benchmarks: it listens (TCP + Noise + yamux, identify, ping), serves echo
// and the perf protocol, and as a client dials one peer and runs identify,
// ping, a checked echo and perf against it. Everything it learns is printed
// as JSON lines on stdout; any failure ends it with a message and a non-zero
// exit; --timeout bounds the whole run. See README.md for the flags.
import './node20-shim.mjs'
import { createHash, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import {
  AGENT, UsageError, createNode, emit, loadKey, mbps, parseSize,
  readStream, round, sendWithBackpressure, waitForDrain
} from './common.mjs'

const ECHO = '/echo/1.0.0'
const PERF = '/perf/1.0.0'
const CHUNK = 64 * 1024 // what we hand to stream.send at a time: one yamux frame
const ECHO_READ_BUFFER = 32 * 1024 * 1024 // > yamux's largest stream window
const MAX_STREAMS = 256 // per protocol and connection, both ways

const USAGE = `usage: node peer.mjs [options]
  --listen MULTIADDR      listen here (repeatable; default /ip4/127.0.0.1/tcp/0)
  --no-listen             do not listen (a pure client)
  --key FILE              identity: libp2p protobuf private key (default: new Ed25519)
  --echo PROTO            also serve echo on PROTO (repeatable; ${ECHO} always)
  --agent TEXT            identify agent version (default "${AGENT}")
  --timeout SECONDS       bound on the whole run (default 60); exit 124 past it
  --quiet                 do not print connection/identify/served events
  --identify-push         also serve (and send) identify push; a push received
                          prints an identify event
client (needs --dial; runs in this order, then exits unless --stay):
  --dial MULTIADDR        connect to this address (with /p2p/PEERID)
  --identify              wait for identify of the peer and print it
  --ping-peer             ping the peer (--pings N times, default 5)
  --echo-client PROTO     echo --count N streams (default 16) of --size BYTES
                          (default 1M) each, --parallel P at once (default 1),
                          checking every byte that comes back
  --perf-client           run ${PERF}: send --upload BYTES, get --download BYTES
                          (default 0 and 0; sizes take K, M, G suffixes: 1M = 1048576)
  --stay                  keep serving after the client steps until the timeout
exit: 0 ok, 1 failure, 2 bad usage, 124 timeout`

const options = {
  listen: { type: 'string', multiple: true },
  'no-listen': { type: 'boolean' },
  key: { type: 'string' },
  echo: { type: 'string', multiple: true },
  agent: { type: 'string' },
  timeout: { type: 'string' },
  quiet: { type: 'boolean' },
  'identify-push': { type: 'boolean' },
  dial: { type: 'string' },
  identify: { type: 'boolean' },
  'ping-peer': { type: 'boolean' },
  pings: { type: 'string' },
  'echo-client': { type: 'string' },
  count: { type: 'string' },
  size: { type: 'string' },
  parallel: { type: 'string' },
  'perf-client': { type: 'boolean' },
  upload: { type: 'string' },
  download: { type: 'string' },
  stay: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
}

/** The command line as a plain config object; throws UsageError. */
function parseCommandLine (argv) {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }))
  } catch (err) {
    throw new UsageError(err.message)
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n')
    process.exit(0)
  }
  const count = (name, dflt, min = 1) => {
    if (values[name] == null) return dflt
    const n = Number(values[name])
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: not a count >= ${min}: ${values[name]}`)
    return n
  }
  const cfg = {
    listen: values['no-listen'] ? [] : (values.listen ?? ['/ip4/127.0.0.1/tcp/0']),
    key: values.key,
    echo: [ECHO, ...(values.echo ?? [])],
    agent: values.agent ?? AGENT,
    timeout: values.timeout == null ? 60 : Number(values.timeout),
    quiet: values.quiet ?? false,
    push: values['identify-push'] ?? false,
    dial: values.dial,
    identify: values.identify ?? false,
    ping: values['ping-peer'] ?? false,
    pings: count('pings', 5),
    echoClient: values['echo-client'],
    count: count('count', 16),
    size: values.size == null ? 1024 * 1024 : parseSize(values.size, '--size'),
    parallel: count('parallel', 1),
    perf: values['perf-client'] ?? false,
    upload: values.upload == null ? 0 : parseSize(values.upload, '--upload'),
    download: values.download == null ? 0 : parseSize(values.download, '--download'),
    stay: values.stay ?? false
  }
  if (!(cfg.timeout > 0)) throw new UsageError(`--timeout: not a positive number: ${values.timeout}`)
  const wantsPeer = cfg.identify || cfg.ping || cfg.echoClient != null || cfg.perf
  if (wantsPeer && cfg.dial == null) throw new UsageError('--identify, --ping-peer, --echo-client and --perf-client need --dial')
  if (cfg.dial != null) cfg.dialAddr = parseDialAddr(cfg.dial)
  return cfg
}

function parseDialAddr (text) {
  let ma
  try {
    ma = multiaddr(text)
  } catch (err) {
    throw new UsageError(`--dial: bad multiaddr ${text}: ${err.message}`)
  }
  const p2p = ma.getComponents().find(c => c.name === 'p2p')
  if (p2p == null) throw new UsageError(`--dial: ${text} has no /p2p/PEERID`)
  return ma
}

// ---- serving -------------------------------------------------------------

/** Echoes everything read back on the same stream until the remote closes
 * its write side, pausing the read side (so no window updates go out)
 * while the send buffer is full. */
async function serveEcho (stream, connection, quiet) {
  const peerId = connection.remotePeer.toString()
  // While paused the remote may still fill the window it was granted, which
  // @libp2p/yamux grows to 16 MiB, past the default 4 MiB read buffer limit
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, ECHO_READ_BUFFER)
  try {
    const { bytes, lateBytes } = await readStream(stream, (data) => {
      if (!stream.send(data) && stream.writableNeedsDrain && stream.readStatus === 'readable') {
        stream.pause()
        waitForDrain(stream).then(() => {
          if (stream.readStatus === 'paused') stream.resume()
        }, () => {})
      }
    })
    await stream.close()
    if (lateBytes > 0) warnLate(stream.protocol, peerId, lateBytes)
    if (!quiet) emit('echo-served', { protocol: stream.protocol, peerId, bytes })
  } catch (err) {
    stream.abort(err)
    emit('stream-error', { protocol: stream.protocol, peerId, message: err.message })
  }
}

/** The listener side of /perf/1.0.0: read the u64 of bytes wanted, read
 * the upload to EOF, then send that many bytes and close. */
async function servePerf (stream, connection, quiet) {
  const peerId = connection.remotePeer.toString()
  let received = 0
  let sent = 0n
  try {
    let header = new Uint8Array(0)
    const r = await readStream(stream, (bytes) => {
      if (header.length < 8) {
        const need = 8 - header.length
        header = concat(header, bytes.subarray(0, need))
        received += Math.max(0, bytes.length - need)
      } else {
        received += bytes.length
      }
    })
    if (r.lateBytes > 0) warnLate(PERF, peerId, r.lateBytes)
    if (header.length < 8) throw new Error(`perf: stream ended after ${header.length} of the 8 header bytes`)
    const want = new DataView(header.buffer, header.byteOffset, 8).getBigUint64(0, false)
    const block = new Uint8Array(CHUNK)
    while (sent < want) {
      const left = want - sent
      const n = left < BigInt(CHUNK) ? Number(left) : CHUNK
      await sendWithBackpressure(stream, n === CHUNK ? block : block.subarray(0, n))
      sent += BigInt(n)
    }
    await stream.close()
    if (!quiet) emit('perf-served', { peerId, received, sent: Number(sent) })
  } catch (err) {
    stream.abort(err)
    emit('stream-error', { protocol: PERF, peerId, received, sent: Number(sent), message: err.message })
  }
}

/** Reports that a peer sent data in the yamux frame that closed its write
 * side: legal yamux, but js-libp2p apps that iterate the stream lose it. */
function warnLate (protocol, peerId, bytes) {
  emit('warning', {
    protocol, peerId, lateBytes: bytes,
    message: 'data arrived in the same yamux frame as FIN; js-libp2p readers using the stream iterator drop it'
  })
}

function concat (a, b) {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

function watchEvents (node) {
  node.addEventListener('connection:open', (evt) => {
    const c = evt.detail
    emit('connection', {
      peerId: c.remotePeer.toString(),
      remoteAddr: c.remoteAddr.toString(),
      direction: c.direction,
      encryption: c.encryption,
      muxer: c.multiplexer
    })
  })
  node.addEventListener('connection:close', (evt) => {
    const c = evt.detail
    emit('connection-closed', { peerId: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString() })
  })
  node.addEventListener('peer:identify', (evt) => {
    emit('identify', identifyFields(evt.detail))
  })
}

function identifyFields (r) {
  return {
    peerId: r.peerId.toString(),
    agentVersion: r.agentVersion,
    protocolVersion: r.protocolVersion,
    protocols: r.protocols,
    listenAddrs: r.listenAddrs.map(String),
    observedAddr: r.observedAddr?.toString()
  }
}

// ---- client steps --------------------------------------------------------

/** Resolves with the first identify result for `peerId`, whether it came
 * before or after this call (libp2p identifies every new connection). */
function identifyOnce (node, identified, peerId) {
  const want = peerId.toString()
  const seen = identified.get(want)
  if (seen != null) return Promise.resolve(seen)
  return new Promise((resolve) => {
    const onIdentify = (evt) => {
      if (evt.detail.peerId.toString() !== want) return
      node.removeEventListener('peer:identify', onIdentify)
      resolve(evt.detail)
    }
    node.addEventListener('peer:identify', onIdentify)
  })
}

async function runPing (node, peerId, n) {
  const rtts = []
  for (let i = 0; i < n; i++) {
    // libp2p's own figure is whole milliseconds; time it finer here
    const t0 = performance.now()
    await node.services.ping.ping(peerId)
    rtts.push(round(performance.now() - t0, 3))
  }
  const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length
  emit('ping', { peerId: peerId.toString(), count: n, rttMs: rtts, avgMs: round(avg, 3) })
}

/** One echo stream: send `data` and close the write side while reading
 * concurrently; the bytes back must be exactly `data`. */
async function echoOne (connection, protocol, data) {
  const stream = await connection.newStream(protocol)
  const back = createHash('sha256')
  let got = 0
  let mismatchAt = -1
  const reading = readStream(stream, (bytes) => {
    if (mismatchAt < 0) {
      const expect = data.subarray(got, got + bytes.length)
      if (expect.length !== bytes.length || Buffer.compare(expect, bytes) !== 0) {
        mismatchAt = got + firstDifference(expect, bytes)
      }
    }
    back.update(bytes)
    got += bytes.length
  })
  try {
    for (let off = 0; off < data.length; off += CHUNK) {
      await sendWithBackpressure(stream, data.subarray(off, off + CHUNK))
    }
    await stream.close()
    const { lateBytes } = await reading
    if (lateBytes > 0) warnLate(protocol, connection.remotePeer.toString(), lateBytes)
  } catch (err) {
    stream.abort(err)
    await reading.catch(() => {})
    throw err
  }
  if (mismatchAt >= 0) throw new Error(`echo on ${protocol}: byte ${mismatchAt} differs from what was sent`)
  if (got !== data.length) throw new Error(`echo on ${protocol}: sent ${data.length} bytes, got ${got} back`)
  return back.digest('hex')
}

function firstDifference (a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

async function runEcho (connection, cfg) {
  const { echoClient: protocol, count, size, parallel } = cfg
  const payloads = Array.from({ length: count }, () => randomBytes(size))
  const sums = new Array(count)
  const start = performance.now()
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      sums[i] = await echoOne(connection, protocol, payloads[i])
      const sent = createHash('sha256').update(payloads[i]).digest('hex')
      if (sums[i] !== sent) throw new Error(`echo stream ${i}: sha256 ${sums[i]} back, ${sent} sent`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker))
  const ms = performance.now() - start
  const all = createHash('sha256')
  for (const s of sums) all.update(s)
  emit('echo', {
    protocol, count, size, parallel, bytes: count * size, verified: true,
    sha256: all.digest('hex'), ms: round(ms, 1), MBps: mbps(2 * count * size, ms)
  })
}

/** The dialer side of /perf/1.0.0, timed as the spec says: upload from the
 * stream's opening to our write side's close, download from then to EOF. */
async function runPerf (connection, upload, download) {
  const start = performance.now()
  const stream = await connection.newStream(PERF)
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(download), false)
  const block = new Uint8Array(CHUNK)
  let got = 0
  let reading
  try {
    reading = readStream(stream, (bytes) => { got += bytes.length })
    await sendWithBackpressure(stream, header)
    for (let sent = 0; sent < upload; sent += CHUNK) {
      const n = Math.min(CHUNK, upload - sent)
      await sendWithBackpressure(stream, n === CHUNK ? block : block.subarray(0, n))
    }
    await stream.close()
    const uploaded = performance.now()
    const { lateBytes } = await reading
    const end = performance.now()
    if (lateBytes > 0) warnLate(PERF, connection.remotePeer.toString(), lateBytes)
    if (got !== download) throw new Error(`perf: asked for ${download} bytes, got ${got}`)
    const uploadMs = uploaded - start
    const downloadMs = end - uploaded
    emit('perf', {
      upload, download,
      uploadMs: round(uploadMs, 1), downloadMs: round(downloadMs, 1), totalMs: round(end - start, 1),
      uploadMBps: upload > 0 ? mbps(upload, uploadMs) : null,
      downloadMBps: download > 0 ? mbps(download, downloadMs) : null
    })
  } catch (err) {
    stream.abort(err)
    await reading?.catch(() => {})
    throw err
  }
}

// ---- main ----------------------------------------------------------------

let node = null
let step = 'starting'
let exiting = false

/** Stops the node (at most 2 s) and exits; only the first call counts, so
 * errors that stopping causes in steps still running are not reported. */
async function stopAndExit (code) {
  if (exiting) return
  exiting = true
  if (node != null) {
    await Promise.race([node.stop().catch(() => {}), new Promise(resolve => setTimeout(resolve, 2000))])
  }
  process.exit(code)
}

function fail (err, code = 1) {
  if (exiting) return
  const message = err instanceof Error ? err.message : String(err)
  emit('error', { step, message })
  process.stderr.write(`peer.mjs: ${step}: ${message}\n`)
  void stopAndExit(code)
}

async function main () {
  let cfg
  try {
    cfg = parseCommandLine(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`peer.mjs: ${err.message} (see --help)\n`)
    process.exit(2)
  }

  const clientRun = cfg.dial != null && !cfg.stay
  setTimeout(() => {
    if (clientRun || step !== 'serving') {
      fail(new Error(`timed out after ${cfg.timeout}s`), 124)
    } else {
      if (exiting) return
      emit('stopped', { reason: 'timeout' })
      void stopAndExit(0)
    }
  }, cfg.timeout * 1000)
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      if (exiting) return
      emit('stopped', { reason: sig })
      void stopAndExit(0)
    })
  }

  step = 'start'
  const privateKey = cfg.key != null ? await loadKey(cfg.key) : undefined
  node = await createNode({ privateKey, listen: cfg.listen, agent: cfg.agent, push: cfg.push })
  const identified = new Map()
  node.addEventListener('peer:identify', (evt) => identified.set(evt.detail.peerId.toString(), evt.detail))
  if (!cfg.quiet) watchEvents(node)
  const handlerOptions = { maxInboundStreams: MAX_STREAMS, maxOutboundStreams: MAX_STREAMS }
  await node.handle(cfg.echo, (stream, connection) => serveEcho(stream, connection, cfg.quiet), handlerOptions)
  await node.handle(PERF, (stream, connection) => servePerf(stream, connection, cfg.quiet), handlerOptions)
  await node.start()
  emit('ready', {
    peerId: node.peerId.toString(),
    addrs: node.getMultiaddrs().map(String),
    protocols: node.getProtocols()
  })

  if (cfg.dial != null) {
    step = 'dial'
    const connection = await node.dial(cfg.dialAddr)
    const peerId = connection.remotePeer
    if (cfg.quiet) emit('connection', { peerId: peerId.toString(), remoteAddr: connection.remoteAddr.toString(), direction: 'outbound', encryption: connection.encryption, muxer: connection.multiplexer })
    if (cfg.identify) {
      step = 'identify'
      const r = await identifyOnce(node, identified, peerId)
      if (cfg.quiet) emit('identify', identifyFields(r))
    }
    if (cfg.ping) {
      step = 'ping'
      await runPing(node, peerId, cfg.pings)
    }
    if (cfg.echoClient != null) {
      step = 'echo'
      await runEcho(connection, cfg)
    }
    if (cfg.perf) {
      step = 'perf'
      await runPerf(connection, cfg.upload, cfg.download)
    }
    if (!cfg.stay) {
      step = 'stop'
      emit('done', {})
      await stopAndExit(0)
      return
    }
  }
  step = 'serving'
}

main().catch((err) => fail(err))
