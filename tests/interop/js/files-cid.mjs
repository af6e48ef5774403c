// The root CID IPFS's own UnixFS importer (npm ipfs-unixfs-importer, the
// one helia uses) gives a file, a folder or a generated stream, with one of
// IPIP-499's profiles: what tests/interop/files_cid.sh compares fastn's
// importer with, and what bench/files times.
//
//   node files-cid.mjs [--profile NAME] [--hidden] [--stats] PATH
//   node files-cid.mjs [--profile NAME] [--stats] --gen BYTES
//   node files-cid.mjs --batch      (one job a line on stdin, as above
//                                    without "node files-cid.mjs")
//
// The same rules as tests/interop/files_cid.c: --profile unixfs-v1-2025
// (default) or unixfs-v0-2015; names starting with "." left out unless
// --hidden; --gen the same deterministic stream (64 KiB segments of one
// xorshift32 pattern, each starting with its index as a little-endian
// u64), made as the importer reads it, never held whole. Blocks are
// counted, not kept. Prints the CID; --stats prints counts and seconds on
// stderr. --batch prints one CID a line, in order, from one process (node
// starts once for a whole test). Exit 1 on an error, 2 on bad usage.
import { importer } from 'ipfs-unixfs-importer'
import { createReadStream, readdirSync, lstatSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const SEG = 65536

function usage () {
  console.error('usage: node files-cid.mjs [--profile NAME] [--hidden] [--stats] PATH | --gen BYTES')
  process.exit(2)
}

function pattern () {
  const base = Buffer.alloc(SEG)
  let x = 0x9e3779b9
  for (let i = 0; i < SEG; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    base[i] = x & 0xff
  }
  return base
}

async function * gen (total) {
  const base = pattern()
  for (let k = 0n, off = 0n; off < total; k++, off += BigInt(SEG)) {
    const seg = Buffer.from(base)
    seg.writeBigUInt64LE(k, 0)
    const left = total - off
    yield left < BigInt(SEG) ? seg.subarray(0, Number(left)) : seg
  }
}

// Import candidates for a folder: every file with its path under the root,
// and every empty folder as an entry of its own (others appear through
// their files). Symlinks cannot be given to the importer: refused.
function * walk (dir, rel, hidden) {
  let any = false
  for (const name of readdirSync(dir)) {
    if (!hidden && name.startsWith('.')) continue
    any = true
    const p = join(dir, name)
    const r = `${rel}/${name}`
    const st = lstatSync(p)
    if (st.isSymbolicLink()) throw new Error(`${p}: symlinks are not supported here`)
    if (st.isDirectory()) yield * walk(p, r, hidden)
    else if (st.isFile()) yield { path: r, content: createReadStream(p) }
    else throw new Error(`${p}: not a file, folder or symlink`)
  }
  if (!any) yield { path: rel }
}

async function run (args) {
  let profile = 'unixfs-v1-2025'
  let hidden = false
  let stats = false
  let path = null
  let total = null
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--profile' && i + 1 < args.length) profile = args[++i]
    else if (args[i] === '--hidden') hidden = true
    else if (args[i] === '--stats') stats = true
    else if (args[i] === '--gen' && i + 1 < args.length) total = BigInt(args[++i])
    else if (!args[i].startsWith('-') && path == null) path = args[i]
    else usage()
  }
  if ((path == null) === (total == null)) usage()
  if (profile !== 'unixfs-v1-2025' && profile !== 'unixfs-v0-2015') usage()

  let blocks = 0
  let bytes = 0
  const blockstore = {
    async put (cid, block) {
      blocks++
      bytes += block.length
      return cid
    }
  }
  let source
  if (total != null) {
    source = [{ content: gen(total) }]
  } else if (lstatSync(path).isDirectory()) {
    source = walk(path, 'root', hidden)
  } else {
    source = [{ content: createReadStream(path) }]
  }
  const t0 = process.hrtime.bigint()
  let last = null
  for await (const entry of importer(source, blockstore, { profile })) last = entry
  if (last == null) throw new Error('nothing imported')
  console.log(last.cid.toString())
  if (stats) {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9
    console.error(`files-cid.mjs: ${blocks} blocks, ${bytes} bytes, ${secs.toFixed(3)} s`)
  }
}

async function main () {
  const args = process.argv.slice(2)
  if (args.length === 1 && args[0] === '--batch') {
    const lines = readFileSync(0, 'utf8').split('\n').filter(l => l.trim() !== '')
    for (const line of lines) await run(line.trim().split(/\s+/))
  } else {
    await run(args)
  }
}

main().catch(err => {
  console.error(`files-cid.mjs: ${err.message}`)
  process.exit(1)
})
