// The @libp2p/interop suite's DaemonFactory for fastn-p2p: every daemon is
// a separate process spawned with p2pd's flags
//   -listen=/unix/DIR/ctl.sock -hostAddrs=/ip4/127.0.0.1/tcp/0 [-id=KEY] -q
// (or -noListenAddrs instead of -hostAddrs; -dhtServer when the test asks
// for the DHT, as the suite's own go-libp2p-daemon factory does) in its own
// temporary folder, and driven through @libp2p/daemon-client on that
// control socket. fastnd's home there has a config with
// `private-addresses = yes`: its DHT keeps only addresses its reach policy
// allows, public ones unless told, and the suite runs on loopback (p2pd
// and the js daemon keep any address).
// The suite's "js" slot is jsdaemon.mjs (js-libp2p). Its "go" slot is the
// program named by $FASTND (plus words of $FASTND_ARGS, if any) and is
// jsdaemon.mjs too while FASTND is unset, which proves the harness js-vs-js.
// Options a daemon cannot do make spawn() throw UnsupportedError, which the
// suite turns into a skipped test.
import { spawn as spawnProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from '@libp2p/daemon-client'
import { UnsupportedError } from '@libp2p/interop'
import { controlMultiaddr } from './common.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const JS_DAEMON = [process.execPath, join(here, 'jsdaemon.mjs')]
const READY_MS = 15_000 // a daemon must answer IDENTIFY within this
const STOP_MS = 5_000 // then SIGKILL

const running = new Set()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** What each kind of daemon can do. fastnd: TCP, Noise, yamux, Ed25519
 * identities only; js-libp2p here: any key type @libp2p/crypto reads. */
const CAPS = {
  fastnd: { keyTypes: ['ed25519'] },
  js: { keyTypes: ['ed25519', 'rsa', 'secp256k1'] }
}

/** The key type of a libp2p protobuf PrivateKey file (field 1, KeyType). */
function keyTypeOf (file) {
  const b = readFileSync(file)
  if (b.length < 2 || b[0] !== 0x08) return 'unknown'
  return { 0: 'rsa', 1: 'ed25519', 2: 'secp256k1', 3: 'ecdsa' }[b[1]] ?? 'unknown'
}

function checkSupported (kind, options) {
  const unsupported = (what) => {
    throw new UnsupportedError(`${kind} daemon: ${what} not supported`)
  }
  if ((options.transport ?? 'tcp') !== 'tcp') unsupported(`transport ${options.transport}`)
  if ((options.encryption ?? 'noise') !== 'noise') unsupported(`encryption ${options.encryption}`)
  if ((options.muxer ?? 'yamux') !== 'yamux') unsupported(`muxer ${options.muxer}`)
  if (options.pubsub === true) unsupported('pubsub')
  if (options.relay === true) unsupported('relay')
  if (options.key != null) {
    const type = keyTypeOf(options.key)
    if (!CAPS[kind].keyTypes.includes(type)) unsupported(`${type} keys`)
  }
}

/** The command for a slot: [program, ...args] and which kind it is. */
function commandFor (type, env) {
  if (type === 'go' && env.FASTND) {
    const extra = (env.FASTND_ARGS ?? '').split(/\s+/).filter(Boolean)
    return { kind: 'fastnd', argv: [env.FASTND, ...extra] }
  }
  return { kind: 'js', argv: JS_DAEMON }
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Spawns one daemon and waits until its control socket answers. */
async function spawnDaemon (options, env) {
  const { kind, argv } = commandFor(options.type, env)
  checkSupported(kind, options)
  const dir = mkdtempSync(join(tmpdir(), 'fastn-interop-'))
  const sock = join(dir, 'ctl.sock')
  const args = [`-listen=/unix${sock}`]
  args.push(options.noListen === true ? '-noListenAddrs' : '-hostAddrs=/ip4/127.0.0.1/tcp/0')
  if (options.key != null) args.push(`-id=${options.key}`)
  if (options.dht === true) args.push('-dhtServer')
  args.push('-q')
  const home = join(dir, 'home')
  if (kind === 'fastnd') {
    mkdirSync(home, { mode: 0o700 })
    writeFileSync(join(home, 'config'), 'private-addresses = yes\n', { mode: 0o600 })
  }

  const child = spawnProcess(argv[0], [...argv.slice(1), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, FASTN_HOME: home }
  })
  running.add(child)
  let output = ''
  const keep = (chunk) => { output = (output + chunk).slice(-4000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = signal ?? code
      running.delete(child)
      resolve()
    })
    child.on('error', (err) => {
      exited = err.message
      running.delete(child)
      resolve()
    })
  })
  const what = `${kind} daemon (${[...argv, ...args].join(' ')})`

  const stop = async () => {
    if (exited == null) {
      child.kill('SIGTERM')
      const killed = await Promise.race([exit.then(() => false), sleep(STOP_MS).then(() => true)])
      if (killed) {
        child.kill('SIGKILL')
        await exit
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }

  const client = createClient(controlMultiaddr(`/unix${sock}`))
  const deadline = Date.now() + READY_MS
  for (;;) {
    if (exited != null) {
      await stop()
      throw new Error(`${what} exited (${exited}) before answering: ${output.trim()}`)
    }
    try {
      await client.identify()
      break
    } catch (err) {
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`${what} did not answer IDENTIFY within ${READY_MS} ms (${err.message}): ${output.trim()}`)
      }
      await sleep(50)
    }
  }
  return { client, stop }
}

/** The factory the suite calls; `env` chooses the daemons (see above). */
export function createFactory (env = process.env) {
  return {
    async spawn (options) {
      return spawnDaemon(options, env)
    }
  }
}
