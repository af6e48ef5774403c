#!/bin/bash
# The time to import 1 GiB into UnixFS, hashing included (every block is
# made and hashed; none is stored): plugins/files/lib natively
# (tests/interop/files_cid) against npm ipfs-unixfs-importer 16 on Node
# (tests/interop/js/files-cid.mjs), on the same bytes, in both IPIP-499
# profiles, from a generated stream (no disk) and from a file in /tmp.
# Both must give the same root CID, or the run fails. Each figure is the
# median of RUNS runs (default 3). Writes bench/results/files.md.
# Usage: BUILD=build bash bench/files/import.sh [BYTES]
set -eu
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
bytes=${1:-1073741824}
tool="$top/$BUILD/tests/interop/files_cid"
js="$top/tests/interop/js"
out="$top/bench/results/files.md"
[ -x "$tool" ] || { echo "missing $tool (make)"; exit 1; }
sh "$js/install.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"

# one run: prints "CID SECONDS" (the tools' own timing, start to root)
run_fastn() {
    "$tool" --stats "$@" 2>"$tmp/err" >"$tmp/cid"
    echo "$(cat "$tmp/cid") $(sed -n 's/.*, \([0-9.]*\) s$/\1/p' "$tmp/err")"
}
run_js() {
    node "$js/files-cid.mjs" --stats "$@" 2>"$tmp/err" >"$tmp/cid"
    echo "$(cat "$tmp/cid") $(sed -n 's/.*, \([0-9.]*\) s$/\1/p' "$tmp/err")"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "generating a $bytes-byte file in $tmp (the same bytes as --gen)"
node -e "
const fs = require('fs'); const SEG = 65536; const base = Buffer.alloc(SEG);
let x = 0x9e3779b9;
for (let i = 0; i < SEG; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; base[i] = x & 0xff }
const fd = fs.openSync('$tmp/data', 'w'); const total = BigInt('$bytes');
for (let k = 0n, off = 0n; off < total; k++, off += BigInt(SEG)) {
  const seg = Buffer.from(base); seg.writeBigUInt64LE(k, 0);
  const left = total - off; fs.writeSync(fd, left < BigInt(SEG) ? seg.subarray(0, Number(left)) : seg)
}
fs.closeSync(fd)"

{
    echo "| profile | input | fastn (s) | MB/s | ipfs-unixfs-importer (s) | MB/s | root CID |"
    echo "|---|---|---:|---:|---:|---:|---|"
} >"$out"
for profile in unixfs-v1-2025 unixfs-v0-2015; do
    for input in gen file; do
        if [ $input = gen ]; then args="--gen $bytes"; else args="$tmp/data"; fi
        f="" j="" cid_f="" cid_j=""
        for _ in $(seq "$RUNS"); do
            # shellcheck disable=SC2086
            set -- $(run_fastn --profile $profile $args)
            cid_f=$1
            f="$f $2"
            # shellcheck disable=SC2086
            set -- $(run_js --profile $profile $args)
            cid_j=$1
            j="$j $2"
        done
        [ "$cid_f" = "$cid_j" ] || { echo "FAIL: $profile $input: $cid_f vs $cid_j"; exit 1; }
        fm=$(echo "$f" | tr ' ' '\n' | grep . | median)
        jm=$(echo "$j" | tr ' ' '\n' | grep . | median)
        line=$(awk -v p=$profile -v i=$input -v b="$bytes" -v f="$fm" -v j="$jm" -v c="$cid_f" \
            'BEGIN { printf "| %s | %s | %.2f | %.0f | %.2f | %.0f | `%s` |", p, i, f, b / f / 1e6, j, b / j / 1e6, c }')
        echo "$line"
        echo "$line" >>"$out"
    done
done
echo "written: $out"
