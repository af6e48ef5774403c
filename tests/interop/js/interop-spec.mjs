// Mocha spec running the @libp2p/interop suite's connect, stream (echo)
// and DHT tests through interop-factory.mjs. run-interop.sh picks the TCP
// connect tests, the Ed25519/Noise/yamux echo tests and the DHT tests
// (peer routing, content routing, content fetching) with --grep; the other
// combinations need daemons this project does not build.
import './node20-shim.mjs'
import { connectInteropTests, dhtInteropTests, streamInteropTests } from '@libp2p/interop'
import { createFactory } from './interop-factory.mjs'

const factory = createFactory()
connectInteropTests(factory)
await streamInteropTests(factory)
await dhtInteropTests(factory)
