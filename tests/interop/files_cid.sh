#!/bin/bash
# CID equality with IPFS's own UnixFS importer: plugins/files/lib (through
# tests/interop/files_cid) against npm ipfs-unixfs-importer (pinned in
# tests/interop/js, the importer helia uses) with the same IPIP-499
# profile, for both profiles: files of 0, 1, a chunk less one, a chunk and
# a chunk plus one bytes; a file of exactly max-links chunks (one node) and
# one byte more (a second tree level: 174 x 256 KiB + 1 for
# unixfs-v0-2015, 1024 x 1 MiB + 1 = 1 GiB + 1 for unixfs-v1-2025, both
# generated as they are read, never on disk); a nested folder (empty
# folders, empty files, names with spaces, UTF-8 and dots, hidden entries
# left out and then kept); an empty folder; and folders exactly at the
# HAMT threshold (a plain Directory node) and one byte over it (HAMT
# shards), checked to be flat and sharded by their block counts.
# Skipped (77) without Node.js >= 20.
set -u
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
tool="$top/$BUILD/tests/interop/files_cid"
js="$top/tests/interop/js"

sh "$js/install.sh" || exit $?
[ -x "$tool" ] || { echo "missing $tool (build it with make)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# --- inputs ---------------------------------------------------------------
sizes_v0="0 1 262143 262144 262145"
sizes_v1="0 1 1048575 1048576 1048577"
for n in $sizes_v0 $sizes_v1; do
    head -c "$n" /dev/urandom >"size-$n"
done

mkdir -p tree/sub/deeper tree/empty-dir "tree/with space" tree/only-hidden \
    tree/.hidden-dir
printf 'a' >tree/a
printf 'A' >tree/A
printf 'ab' >tree/a.b
printf 'ü' >"tree/ünïcödé"
: >tree/sub/empty-file
head -c 300000 /dev/urandom >tree/sub/deeper/three-chunks-in-v0
head -c 1048577 /dev/urandom >tree/sub/two-chunks-in-v1
printf 'q' >"tree/with space/q"
printf 's' >tree/only-hidden/.secret
printf 'h' >tree/.hidden
printf 'in' >tree/.hidden-dir/f
mkdir empty

# Folders at the HAMT threshold and one byte over (IPIP-499: a folder
# shards when its estimate is strictly over 262144 bytes):
# unixfs-v0-2015, links-bytes: 1024 names of 222 bytes, each link
#   222 + 34 (CIDv0) = 256 bytes: 262144 in all;
# unixfs-v1-2025, block-bytes: 1020 one-byte files named with 211 bytes,
#   each link 257 bytes of PBNode, plus 4 of Data: 262144 in all.
# The "over" folders rename one entry a byte longer.
python3 - <<'EOF'
import os
def folder(path, count, width, longer):
    os.mkdir(path)
    for i in range(count):
        name = ('f%d-' % i).ljust(width + (1 if longer and i == 0 else 0), 'n')
        with open(os.path.join(path, name), 'w') as f:
            f.write('x')
folder('hamt-v0-at', 1024, 222, False)
folder('hamt-v0-over', 1024, 222, True)
folder('hamt-v1-at', 1020, 211, False)
folder('hamt-v1-over', 1020, 211, True)
EOF

# --- jobs: one line each, the same arguments for both importers -----------
v0="--profile unixfs-v0-2015"
v1="--profile unixfs-v1-2025"
{
    for n in $sizes_v0; do echo "$v0 size-$n"; done
    echo "$v0 --gen 45613056"
    echo "$v0 --gen 45613057"
    for n in $sizes_v1; do echo "$v1 size-$n"; done
    echo "$v1 --gen 1073741825"
    for p in "$v0" "$v1"; do
        echo "$p tree"
        echo "$p --hidden tree"
        echo "$p empty"
    done
    echo "$v0 hamt-v0-at"
    echo "$v0 hamt-v0-over"
    echo "$v1 hamt-v1-at"
    echo "$v1 hamt-v1-over"
} >jobs

# --- both importers --------------------------------------------------------
start=$(date +%s)
if ! timeout 600 node "$js/files-cid.mjs" --batch <jobs >js.out 2>js.err; then
    cat js.err
    echo "FAIL: the npm importer failed"
    exit 1
fi
js_secs=$(($(date +%s) - start))
start=$(date +%s)
fail=0
i=0
while read -r line; do
    i=$((i + 1))
    # shellcheck disable=SC2086 # the job line is the argument list
    ours=$("$tool" $line) || {
        echo "FAIL $line: files_cid failed"
        fail=1
        continue
    }
    theirs=$(sed -n "${i}p" js.out)
    if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then
        echo "ok   $line: $ours"
    else
        echo "FAIL $line: fastn $ours, ipfs-unixfs-importer ${theirs:-nothing}"
        fail=1
    fi
done <jobs
echo "importers: fastn $(($(date +%s) - start)) s, ipfs-unixfs-importer $js_secs s"

# The threshold folders are what they should be: a plain folder is its
# files' blocks and one node; a sharded one has more nodes.
blocks() { # args... -> block count
    "$tool" --stats "$@" 2>&1 >/dev/null | sed -n 's/^files_cid: \([0-9]*\) blocks.*/\1/p'
}
check_blocks() { # label got op want
    if [ "$2" "-$3" "$4" ]; then
        echo "ok   $1: $2 blocks"
    else
        echo "FAIL $1: $2 blocks, want $3 $4"
        fail=1
    fi
}
check_blocks "hamt-v0-at is one Directory node" "$(blocks $v0 hamt-v0-at)" eq 1025
check_blocks "hamt-v0-over is sharded" "$(blocks $v0 hamt-v0-over)" gt 1026
check_blocks "hamt-v1-at is one Directory node" "$(blocks $v1 hamt-v1-at)" eq 1021
check_blocks "hamt-v1-over is sharded" "$(blocks $v1 hamt-v1-over)" gt 1022
[ $fail -eq 0 ] || exit 1
echo "ok: every root CID is the one ipfs-unixfs-importer gives"
