// Call latency with js-libp2p, for bench/net/latency.sh: COUNT sequential
// /perf/1.0.0 calls (an 8-byte header asking for 32 bytes back, then the
// write side closed) against ADDR, timed in-process from before the dial
// (cold) or the stream's opening (pooled) to the reply's end; node
// start-up is not timed.
//
//   node js_latency.mjs cold|pooled MULTIADDR COUNT
//   node js_latency.mjs serve
//
// serve: a js-libp2p node serving /perf/1.0.0 on 127.0.0.1 (printing its
// address), with the connection manager's rate limit on inbound
// connections lifted (by default 5 a second per host, which refuses a
// benchmark of new connections); stops on SIGTERM.
//
// cold: a new connection for every call (dial, Noise, yamux, the stream,
// the call; closed after the clock stops); pooled: one connection, a new
// stream per call. Prints one JSON line as bench/net/latency does.
import '../../tests/interop/js/node20-shim.mjs'
import { createNode, multiaddr, readStream, sendWithBackpressure } from '../../tests/interop/js/common.mjs'

const PERF = '/perf/1.0.0'
const REPLY = 32

async function call (conn) {
  const stream = await conn.newStream(PERF)
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(REPLY), false)
  let got = 0
  const reading = readStream(stream, (bytes) => { got += bytes.length })
  await sendWithBackpressure(stream, header)
  await stream.close()
  await reading
  if (got !== REPLY) throw new Error(`got ${got} bytes back, not ${REPLY}`)
}

function report (mode, v) {
  v.sort((a, b) => a - b)
  const n = v.length
  const r1 = (x) => Math.round(x * 10) / 10
  const mean = v.reduce((a, b) => a + b, 0) / n
  process.stdout.write(JSON.stringify({
    mode, count: n, min_us: r1(v[0]), median_us: r1(v[Math.floor(n / 2)]),
    p90_us: r1(v[Math.floor(n * 0.9)]), p99_us: r1(v[Math.floor(n * 0.99)]),
    mean_us: r1(mean)
  }) + '\n')
}

const OPEN_LIMITS = {
  inboundConnectionThreshold: 1e9,
  maxIncomingPendingConnections: 1000,
  maxConnections: 10000
}

async function serve (listen) {
  const node = await createNode({ listen: [listen], connectionManager: OPEN_LIMITS })
  await node.handle(PERF, async (stream) => {
    let header = new Uint8Array(0)
    try {
      await readStream(stream, (bytes) => {
        if (header.length < 8) header = new Uint8Array([...header, ...bytes.subarray(0, 8 - header.length)])
      })
      const want = Number(new DataView(header.buffer).getBigUint64(0, false))
      if (want > 0) await sendWithBackpressure(stream, new Uint8Array(want))
      await stream.close()
    } catch (err) {
      stream.abort(err)
    }
  }, { maxInboundStreams: 1024 })
  await node.start()
  process.stdout.write(node.getMultiaddrs()[0].toString() + '\n')
  process.on('SIGTERM', () => { node.stop().then(() => process.exit(0)) })
}

async function main () {
  const [mode, addr, countText] = process.argv.slice(2)
  if (mode === 'serve') return serve(addr ?? '/ip4/127.0.0.1/tcp/0')
  const count = Number(countText)
  if (!['cold', 'pooled'].includes(mode) || addr == null || !(count > 0)) {
    process.stderr.write('usage: node js_latency.mjs cold|pooled MULTIADDR COUNT | serve [MULTIADDR]\n')
    process.exit(2)
  }
  const ma = multiaddr(addr)
  const node = await createNode({ listen: [], connectionManager: OPEN_LIMITS })
  await node.start()
  const v = []
  if (mode === 'cold') {
    for (let i = 0; i <= count; i++) { // the first one warms up
      const t0 = performance.now()
      const conn = await node.dial(ma)
      await call(conn)
      const t1 = performance.now()
      await conn.close()
      if (i > 0) v.push((t1 - t0) * 1000)
    }
  } else {
    const conn = await node.dial(ma)
    await call(conn)
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      await call(conn)
      v.push((performance.now() - t0) * 1000)
    }
    await conn.close()
  }
  report(`js-${mode}`, v)
  await node.stop()
}

main().then(() => {
  if (process.argv[2] !== 'serve') process.exit(0)
}, (err) => {
  process.stderr.write(`js_latency: ${err.stack ?? err}\n`)
  process.exit(1)
})
