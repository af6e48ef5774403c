// Reads the JSON lines peer.mjs prints, for shell tests.
// Usage: node jsonl.mjs [--wait SECONDS] [--all|--count] FILE EVENT [PATH]
//   prints PATH (dotted, e.g. addrs.0 or peerId; the whole event if absent)
//   of the first line whose "event" is EVENT: strings as they are, other
//   values as JSON. --all prints it for every such line, one a line;
//   --count prints how many such lines there are. --wait polls FILE until
//   the first such line is there (up to SECONDS). Exit 0 found (or --count),
//   1 not found, 2 bad usage.
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
let wait = 0
let mode = 'first'
while (args[0]?.startsWith('--')) {
  const flag = args.shift()
  if (flag === '--wait') wait = Number(args.shift())
  else if (flag === '--all') mode = 'all'
  else if (flag === '--count') mode = 'count'
  else usage()
}
if (args.length < 2 || args.length > 3 || !(wait >= 0)) usage()
const [file, event, path] = args

function usage () {
  process.stderr.write('usage: node jsonl.mjs [--wait SECONDS] [--all|--count] FILE EVENT [PATH]\n')
  process.exit(2)
}

function matches () {
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {}
  const out = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const obj = JSON.parse(line)
      if (obj.event === event) out.push(obj)
    } catch {} // a line still being written
  }
  return out
}

function pick (obj) {
  let v = obj
  for (const key of path == null ? [] : path.split('.')) v = v?.[key]
  return typeof v === 'string' ? v : JSON.stringify(v)
}

const deadline = Date.now() + wait * 1000
let found = matches()
while (found.length === 0 && Date.now() < deadline) {
  await new Promise(resolve => setTimeout(resolve, 50))
  found = matches()
}
if (mode === 'count') {
  process.stdout.write(found.length + '\n')
  process.exit(0)
}
if (found.length === 0) {
  process.stderr.write(`jsonl.mjs: no "${event}" line in ${file}\n`)
  process.exit(1)
}
for (const obj of mode === 'all' ? found : [found[0]]) process.stdout.write(pick(obj) + '\n')
