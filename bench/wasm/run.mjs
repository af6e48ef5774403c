// Runs a bench/wasm module's run() under node (V8) and prints
// "CHECKSUM SECONDS": the checksum as an unsigned decimal and the time of
// the call alone (reading, compiling and instantiating are outside it).
// Usage: node run.mjs FILE.wasm
import { readFileSync } from 'node:fs';

const bytes = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const t0 = process.hrtime.bigint();
const result = instance.exports.run();
const t1 = process.hrtime.bigint();
console.log(`${result >>> 0} ${(Number(t1 - t0) / 1e9).toFixed(6)}`);
