#!/bin/sh
# Runs the @libp2p/interop suite's TCP connect tests, Ed25519/Noise/yamux
# echo tests and DHT tests (dht.peerRouting, dht.contentRouting,
# dht.contentFetching) with mocha: js-libp2p daemons (jsdaemon.mjs) against the daemon
# in the suite's "go" slot, spawned with p2pd's flags. That slot is $FASTND
# (e.g. build/bin/fastnd; $FASTND_ARGS adds words before the p2pd flags);
# while FASTND is unset it is jsdaemon.mjs too, which checks the harness.
# Usage: [FASTND=PATH] tests/interop/js/run-interop.sh [--fastnd-only]
#   --fastnd-only   only the tests that involve the "go" slot
# Exit: mocha's (0 all passed), 77 when Node.js >= 20 is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/install.sh" || exit $?
cd "$here"

grep='^(connection\.tcp|ed25519/noise/yamux echo|dht\.[A-Za-z]+) '
case "${1:-}" in
--fastnd-only) grep='^(connection\.tcp|ed25519/noise/yamux echo|dht\.[A-Za-z]+) .*go ' ;;
"") ;;
*)
    echo "usage: [FASTND=PATH] $0 [--fastnd-only]" >&2
    exit 2
    ;;
esac

if [ -n "${FASTND:-}" ]; then
    [ -x "$FASTND" ] || { echo "run-interop.sh: FASTND=$FASTND is not an executable" >&2; exit 1; }
    echo "run-interop.sh: \"go\" slot: $FASTND ${FASTND_ARGS:-}"
else
    echo "run-interop.sh: FASTND unset; the \"go\" slot runs jsdaemon.mjs (harness self-check)"
fi
exec timeout -k 10 600 node node_modules/mocha/bin/mocha.js --grep "$grep"
