// What the hole-punching js nodes share (dcutr-peer.mjs for the tests,
// reach-bench.mjs for bench/net/reach.sh): their libp2p options, TCP
// (every outbound dial from one port when asked, so that a port-preserving
// NAT maps it as it maps the listener) and the circuit relay v2
// transport, Noise, yamux; listening on LISTEN and, with a relay, on its
// circuit; ANNOUNCE advertised too. Each script adds its services.
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'

/** createLibp2p's options from the scripts' common flags. */
export function punchNodeOptions ({ listen, relay, dialPort, announce }, services) {
  const dialOpts = dialPort != null ? { localPort: Number(dialPort) } : {}
  const addrs = [listen]
  if (relay != null) addrs.push(`${relay}/p2p-circuit`)
  return {
    addresses: { listen: addrs, appendAnnounce: announce ?? [] },
    transports: [tcp({ dialOpts }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services
  }
}
