// A js-libp2p daemon taking go-libp2p-daemon's (p2pd's) flags, serving the
// daemon control protocol through @libp2p/daemon-server. It fills the
// interop suite's "js" slot, and its "go" slot too until FASTND names the
// fastn daemon, so the harness that will spawn fastnd is proven js-vs-js.
// Usage: node jsdaemon.mjs [-listen=/unix/PATH] [-hostAddrs=MA[,MA...]]
//                          [-noListenAddrs] [-id=KEYFILE] [-q]
//                          [-dht | -dhtClient | -dhtServer]
// Flags are taken as -name=value, --name=value or -name value, as Go's flag
// package does. -listen defaults to /unix/tmp/p2pd.sock, -hostAddrs to
// /ip4/127.0.0.1/tcp/0 (loopback only, unlike p2pd). -dht and -dhtServer
// add @libp2p/kad-dht in server mode (js has no auto mode worth the name
// on loopback), -dhtClient in client mode. SIGTERM/SIGINT stop it.
import './node20-shim.mjs'
import { createServer } from '@libp2p/daemon-server'
import { controlMultiaddr, createNode, loadKey } from './common.mjs'

const BOOL_FLAGS = new Set(['noListenAddrs', 'q', 'dht', 'dhtClient', 'dhtServer'])
const VALUE_FLAGS = new Set(['listen', 'hostAddrs', 'id'])

function usage (message) {
  process.stderr.write(`jsdaemon.mjs: ${message}\n` +
    'usage: node jsdaemon.mjs [-listen=/unix/PATH] [-hostAddrs=MA[,MA...]] [-noListenAddrs] [-id=KEYFILE] [-q]\n' +
    '                         [-dht | -dhtClient | -dhtServer]\n')
  process.exit(2)
}

function parseFlags (argv) {
  const flags = {
    listen: '/unix/tmp/p2pd.sock',
    hostAddrs: '/ip4/127.0.0.1/tcp/0',
    noListenAddrs: false,
    q: false,
    dht: false,
    dhtClient: false,
    dhtServer: false
  }
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([A-Za-z]+)(?:=(.*))?$/s.exec(argv[i])
    if (m == null) usage(`unexpected argument ${argv[i]}`)
    const [, name, value] = m
    if (BOOL_FLAGS.has(name)) {
      flags[name] = value == null || value === 'true' || value === '1'
    } else if (VALUE_FLAGS.has(name)) {
      if (value != null) flags[name] = value
      else if (i + 1 < argv.length) flags[name] = argv[++i]
      else usage(`-${name} needs a value`)
    } else {
      usage(`unknown flag -${name}`)
    }
  }
  return flags
}

async function main () {
  const flags = parseFlags(process.argv.slice(2))
  const privateKey = flags.id != null ? await loadKey(flags.id) : undefined
  const listen = flags.noListenAddrs ? [] : flags.hostAddrs.split(',').filter(Boolean)
  // p2pd's precedence: -dht, then -dhtClient, then -dhtServer
  const dht = flags.dht ? 'server' : flags.dhtClient ? 'client' : flags.dhtServer ? 'server' : null
  const node = await createNode({ privateKey, listen, dht })
  const daemon = createServer(controlMultiaddr(flags.listen), node)
  // the server stops the node on SIGTERM/SIGINT/SIGHUP; exit once it has
  const stop = () => {
    void daemon.stop().catch(() => {}).finally(() => process.exit(0))
    setTimeout(() => process.exit(0), 1000).unref()
  }
  await daemon.start()
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.removeAllListeners(sig)
    process.on(sig, stop)
  }
  if (!flags.q) {
    process.stdout.write(`Control socket: ${flags.listen}\nPeer ID: ${node.peerId}\nPeer Addrs:\n` +
      node.getMultiaddrs().map(a => a.decapsulateCode(421).toString() + '\n').join(''))
  }
}

main().catch((err) => {
  process.stderr.write(`jsdaemon.mjs: ${err.message}\n`)
  process.exit(1)
})
