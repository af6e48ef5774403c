// A js-libp2p node for tests/interop/core_js.sh: TCP, Noise, yamux,
// identify, ping and an /echo/1.0.0 handler.
//   node cores-peer.mjs listen        prints {"addr": ..., "peer": ...}, serves
//   node cores-peer.mjs dial MULTIADDR  pings, echoes 16 MiB, prints the results
import './node20-shim.mjs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const mode = process.argv[2]
const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping() }
})

await node.handle('/echo/1.0.0', async (stream) => {
  for await (const buf of stream) {
    if (!stream.send(buf)) await stream.onDrain()
  }
  await stream.close()
})

if (mode === 'listen') {
  console.log(JSON.stringify({ addr: node.getMultiaddrs()[0].toString(), peer: node.peerId.toString() }))
} else {
  const ma = multiaddr(process.argv[3])
  const conn = await node.dial(ma)
  const rtt = await node.services.ping.ping(ma)
  const stream = await node.dialProtocol(ma, '/echo/1.0.0')
  const total = 16 * 1024 * 1024
  const chunk = new Uint8Array(1024 * 1024)
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff
  let got = 0
  let bad = 0
  const reader = (async () => {
    for await (const buf of stream) {
      const b = buf.subarray()
      for (let i = 0; i < b.length; i++) if (b[i] !== ((got + i) & 0xff)) bad++
      got += b.length
    }
  })()
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
  await reader
  // identify runs on every connection; give it a moment to land
  await new Promise((resolve) => setTimeout(resolve, 200))
  const peer = await node.peerStore.get(conn.remotePeer)
  const agent = new TextDecoder().decode(peer.metadata.get('AgentVersion') ?? new Uint8Array())
  console.log(JSON.stringify({ rtt, got, bad, agent, protocols: peer.protocols }))
  await node.stop()
}
