// Mocha spec running the @libp2p/interop suite's connect and stream (echo)
// tests through interop-factory.mjs. run-interop.sh picks the TCP connect
// tests and the Ed25519/Noise/yamux echo tests with --grep; the other
// combinations need daemons this project does not build.
import './node20-shim.mjs'
import { connectInteropTests, streamInteropTests } from '@libp2p/interop'
import { createFactory } from './interop-factory.mjs'

const factory = createFactory()
connectInteropTests(factory)
await streamInteropTests(factory)
