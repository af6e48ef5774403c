// A helia node for tests/interop/files_helia.sh: helia 7 with libp2p over
// TCP + Noise + yamux (identify), bitswap as its only block broker and
// libp2p as its only router (nothing leaves loopback: no HTTP gateways,
// no delegated routing, no bootstrap), blocks in memory.
//
//   node helia-peer.mjs [--add FILE] [--dial MA] [--get CID --out FILE]
//                       [--timeout SEC] [--stay]
//
// Prints JSON lines on stdout: `ready` (peerId, addrs), `added` (cid, of
// FILE imported by @helia/unixfs with its defaults, ms it took), `connected`, `got`
// (cid, bytes, ms: CID fetched over bitswap from the peers it is
// connected to, written to --out; without --dial it waits for a peer to
// connect first; it fails when its last connection closes during the
// fetch), `done`; `error` (step, message) and exit 1 on a failure (124
// at --timeout). Without --stay it stops after its steps; with it, it
// serves until SIGTERM or --timeout (default 60 s). No libp2p pings, and
// bitswap's timeouts raised to 300 s (see BITSWAP_TIMEOUT_MS).
import { createWriteStream, createReadStream } from 'node:fs'
import { once } from 'node:events'
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const args = process.argv.slice(2)
const opt = { timeout: 60, stay: false }
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '--stay') opt.stay = true
  else if (['--add', '--dial', '--get', '--out', '--timeout'].includes(a) && i + 1 < args.length) opt[a.slice(2)] = args[++i]
  else {
    process.stderr.write(`helia-peer.mjs: unknown argument ${a}\n`)
    process.exit(2)
  }
}

let step = 'start'
let helia
let lost
const timer = setTimeout(async () => {
  out({ event: opt.stay ? 'stopped' : 'error', step, message: 'timeout' })
  await helia?.stop().catch(() => {})
  process.exit(opt.stay ? 0 : 124)
}, Number(opt.timeout) * 1000)
process.on('SIGTERM', async () => {
  out({ event: 'stopped', reason: 'SIGTERM' })
  await helia?.stop().catch(() => {})
  process.exit(0)
})

// Settings for a slow, loaded machine (a 1 GiB fetch under load stalled
// for good with the defaults; README.md, "Timeouts"). The libp2p
// connection monitor pings each peer every 10 s and aborts the
// connection when a ping takes more than its timeout (5 s at least), as
// it does behind a fetch's megabytes of blocks on a busy CPU; the
// fetching node has no router to find the peer again, so it waited
// forever. Bitswap aborts a stream whose next message (up to 4 MiB) is
// 10 s late, and a block or want lost that way is never asked for or
// sent again (the sender marks blocks sent before sending, the fetcher
// sends each want to a peer once).
const BITSWAP_TIMEOUT_MS = 300_000
try {
  helia = withBitswap(withLibp2pLight(createHeliaLight(), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify() }
  }), {
    messageReceiveTimeout: BITSWAP_TIMEOUT_MS,
    messageSendTimeout: BITSWAP_TIMEOUT_MS
  })
  await helia.start()
  out({
    event: 'ready',
    peerId: helia.libp2p.peerId.toString(),
    addrs: helia.libp2p.getMultiaddrs().map((m) => m.toString())
  })
  const fs = unixfs(helia)
  if (opt.add) {
    step = 'add'
    const t0 = Date.now()
    const cid = await fs.addByteStream(createReadStream(opt.add))
    out({ event: 'added', cid: cid.toString(), ms: Date.now() - t0 })
  }
  if (opt.dial) {
    step = 'dial'
    const conn = await helia.libp2p.dial(multiaddr(opt.dial))
    out({ event: 'connected', peerId: conn.remotePeer.toString() })
  }
  if (opt.get) {
    step = 'get'
    // without --dial: the peer that has it connects (fastn connect)
    while (helia.libp2p.getConnections().length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // a fetch whose last connection closes cannot end: stop it and say so
    lost = new AbortController()
    helia.libp2p.addEventListener('connection:close', () => {
      if (helia.libp2p.getConnections().length === 0) lost.abort()
    })
    const t0 = Date.now()
    const w = createWriteStream(opt.out)
    let bytes = 0
    for await (const buf of fs.cat(CID.parse(opt.get), { signal: lost.signal })) {
      bytes += buf.length
      if (!w.write(buf)) await once(w, 'drain')
    }
    w.end()
    await once(w, 'finish')
    out({ event: 'got', cid: opt.get, bytes, ms: Date.now() - t0 })
  }
  out({ event: 'done' })
  if (!opt.stay) {
    clearTimeout(timer)
    await helia.stop()
    process.exit(0)
  }
} catch (err) {
  const message = lost?.signal.aborted
    ? 'the connection to the peer closed during the fetch'
    : String(err?.message ?? err)
  out({ event: 'error', step, message })
  process.exit(1)
}
