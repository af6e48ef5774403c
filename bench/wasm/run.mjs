// Runs a bench/wasm module's run() under node (V8) and prints
// "CHECKSUM WALL CPU": the checksum as an unsigned decimal, then the
// seconds of the call alone by the clock and in CPU time (user + system, of
// the whole node process, V8's compiler threads included). Reading,
// compiling and instantiating the module are outside both.
// Usage: node run.mjs FILE.wasm
import { readFileSync } from 'node:fs';

const bytes = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const result = instance.exports.run();
const t1 = process.hrtime.bigint();
const cpu = process.cpuUsage(cpu0);
const wall = Number(t1 - t0) / 1e9;
const cpuSecs = (cpu.user + cpu.system) / 1e6;
console.log(`${result >>> 0} ${wall.toFixed(6)} ${cpuSecs.toFixed(6)}`);
