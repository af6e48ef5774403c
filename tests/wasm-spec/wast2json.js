#!/usr/bin/env node
// Converts a spec .wast script to wast2json's JSON (commands + .wasm
// files), for the scripts whose newer text syntax Debian's wast2json
// 1.0.32 cannot parse. Modules are parsed by npm's wabt 1.0.39
// (tests/wasm-spec/package.json); the script structure (commands, values)
// is read here. Constants are encoded by wabt too (a one-global module per
// literal), so literal syntax is wabt's, not ours.
// Usage: node wast2json.js FILE.wast OUT.json
'use strict';
const fs = require('fs');
const path = require('path');

const FEATURES = {
  exceptions: false, mutable_globals: true, sat_float_to_int: true,
  sign_extension: true, simd: false, threads: false, multi_value: true,
  tail_call: false, bulk_memory: true, reference_types: true,
  annotations: false, gc: false, memory64: false, extended_const: false,
};

// ---- reading s-expressions, keeping each list's source span -------------
function tokenize(src) {
  const toks = [];
  let i = 0, line = 1;
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === ';' && src[i + 1] === ';') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '(' && src[i + 1] === ';') {
      let depth = 1;
      i += 2;
      while (i < src.length && depth > 0) {
        if (src[i] === '(' && src[i + 1] === ';') { depth++; i += 2; }
        else if (src[i] === ';' && src[i + 1] === ')') { depth--; i += 2; }
        else { if (src[i] === '\n') line++; i++; }
      }
      continue;
    }
    if (c === '(' || c === ')') { toks.push({ t: c, pos: i, line }); i++; continue; }
    if (c === '"') {
      const start = i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\') i++;
        if (src[i] === '\n') line++;
        i++;
      }
      i++;
      toks.push({ t: 'str', text: src.slice(start, i), pos: start, line });
      continue;
    }
    const start = i;
    while (i < src.length && !' \t\r\n()";'.includes(src[i])) i++;
    if (i === start) i++; // a lone ';' inside an atom position
    toks.push({ t: 'atom', text: src.slice(start, i), pos: start, line });
  }
  return toks;
}

function parse(src) {
  const toks = tokenize(src);
  let k = 0;
  function node() {
    const tok = toks[k++];
    if (tok.t !== '(') return tok;
    const list = [];
    while (k < toks.length && toks[k].t !== ')') list.push(node());
    const end = k < toks.length ? toks[k++].pos + 1 : src.length;
    return { t: 'list', list, start: tok.pos, end, line: tok.line };
  }
  const out = [];
  while (k < toks.length) out.push(node());
  return out;
}

// Bytes of a wat string literal.
function strBytes(lit) {
  const s = lit.slice(1, -1);
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out.push(...Buffer.from(s[i], 'utf8'));
      continue;
    }
    const n = s[++i];
    const esc = { n: 10, t: 9, r: 13, '"': 34, "'": 39, '\\': 92 };
    if (n in esc) out.push(esc[n]);
    else if (n === 'u') {
      const close = s.indexOf('}', i);
      const cp = parseInt(s.slice(i + 2, close), 16);
      out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
      i = close;
    } else {
      out.push(parseInt(s.slice(i, i + 2), 16));
      i++;
    }
  }
  return Buffer.from(out);
}

function main(wabt) {
  const [wastPath, outPath] = process.argv.slice(2);
  const src = fs.readFileSync(wastPath, 'latin1');
  const outDir = path.dirname(outPath);
  const base = path.basename(outPath, '.json');
  let nfile = 0;
  const commands = [];

  function writeModule(bytes) {
    const name = `${base}.${nfile++}.wasm`;
    fs.writeFileSync(path.join(outDir, name), bytes);
    return name;
  }

  function watToBinary(text) {
    const m = wabt.parseWat('m.wat', text, FEATURES);
    try {
      m.resolveNames();
      return Buffer.from(m.toBinary({ log: false }).buffer);
    } finally {
      m.destroy();
    }
  }

  // {filename, name, module_type} of a (module ...) form.
  function moduleOf(n) {
    const items = n.list.slice(1);
    let name;
    if (items[0] && items[0].t === 'atom' && items[0].text.startsWith('$'))
      name = items.shift().text;
    const kind = items[0] && items[0].t === 'atom' ? items[0].text : '';
    if (kind === 'binary') {
      const bytes = Buffer.concat(items.slice(1).map((s) => strBytes(s.text)));
      return { filename: writeModule(bytes), name, module_type: 'binary' };
    }
    let text = src.slice(n.start, n.end);
    if (kind === 'quote')
      text = '(module ' + items.slice(1).map((s) => strBytes(s.text).toString('latin1')).join(' ') + ')';
    try {
      return { filename: writeModule(watToBinary(text)), name, module_type: 'binary' };
    } catch (e) {
      return { filename: writeModule(Buffer.from(text, 'latin1')), name, module_type: 'text' };
    }
  }

  // The bits of a T.const literal, as wast2json writes them (decimal).
  function constBits(type, lit) {
    const bin = watToBinary(`(module (global ${type} (${type}.const ${lit})))`);
    const i = bin.indexOf(0x06, 8); // global section
    let p = i + 2;
    while (bin[p - 1] & 0x80) p++; // section size
    p += 3; // count, type, mut: now at the opcode
    p++;
    if (type === 'f32') return String(bin.readUInt32LE(p));
    if (type === 'f64') return bin.readBigUInt64LE(p).toString();
    let v = 0n, shift = 0n, b;
    do {
      b = bin[p++];
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (b & 0x40) v -= 1n << shift;
    const bits = type === 'i32' ? 32n : 64n;
    return BigInt.asUintN(Number(bits), v).toString();
  }

  function value(n) {
    const op = n.list[0].text;
    const arg = n.list[1] ? n.list[1].text : undefined;
    const type = op.split('.')[0];
    if (op === 'ref.null')
      return { type: arg === 'extern' ? 'externref' : 'funcref', value: 'null' };
    if (op === 'ref.extern') return { type: 'externref', value: arg };
    if (op === 'ref.func') return { type: 'funcref' };
    if (arg && arg.startsWith('nan:') && (type === 'f32' || type === 'f64') &&
        (arg === 'nan:canonical' || arg === 'nan:arithmetic'))
      return { type, value: arg };
    return { type, value: constBits(type, arg) };
  }

  function action(n) {
    const items = n.list.slice(1);
    const a = { type: n.list[0].text };
    if (items[0].t === 'atom' && items[0].text.startsWith('$')) a.module = items.shift().text;
    a.field = strBytes(items.shift().text).toString('utf8');
    if (a.type === 'invoke') a.args = items.map(value);
    return a;
  }

  for (const n of parse(src)) {
    if (n.t !== 'list') continue;
    const head = n.list[0].text;
    const line = n.line;
    const text = n.list[2] && n.list[2].t === 'str' ? strBytes(n.list[2].text).toString() : undefined;
    switch (head) {
      case 'module': {
        const m = moduleOf(n);
        const c = { type: 'module', line, filename: m.filename };
        if (m.name) c.name = m.name;
        commands.push(c);
        break;
      }
      case 'register': {
        const c = { type: 'register', line, as: strBytes(n.list[1].text).toString() };
        if (n.list[2]) c.name = n.list[2].text;
        commands.push(c);
        break;
      }
      case 'assert_return':
        commands.push({ type: head, line, action: action(n.list[1]), expected: n.list.slice(2).map(value) });
        break;
      case 'assert_trap':
      case 'assert_exhaustion':
        if (n.list[1].list[0].text === 'module') {
          const m = moduleOf(n.list[1]);
          commands.push({ type: 'assert_uninstantiable', line, filename: m.filename, text, module_type: m.module_type });
        } else {
          commands.push({ type: head, line, action: action(n.list[1]), text, expected: [] });
        }
        break;
      case 'assert_invalid':
      case 'assert_malformed':
      case 'assert_unlinkable':
      case 'assert_uninstantiable': {
        const m = moduleOf(n.list[1]);
        commands.push({ type: head, line, filename: m.filename, text, module_type: m.module_type });
        break;
      }
      case 'invoke':
      case 'get':
        commands.push({ type: 'action', line, action: action(n), expected: [] });
        break;
      default:
        throw new Error(`line ${line}: unknown command ${head}`);
    }
  }
  fs.writeFileSync(outPath, JSON.stringify({ source_filename: wastPath, commands }, null, 1));
}

require('wabt')().then(main).catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
