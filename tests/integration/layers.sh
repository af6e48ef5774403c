#!/bin/bash
# The subsystems' layering, checked on the build's own objects (what each
# compiled file included, from the -MMD dependency files, and the symbols
# it calls, from nm), so that it holds for the code as built, whatever a
# header pulls in:
#  - src/ipc never sees the identity's secret key: no file of it includes
#    identity/identity.h, directly or through another header (the control
#    server is handed the PeerID only), and none touches a stream
#    (swarm_stream_*): STREAM_OPEN and CALL go through the router;
#  - src/router depends on nothing above it: no header of ipc, daemon,
#    plugin, store or registry, no identity, and no call into src/ipc
#    (data flows net -> router -> client | plugin | quarantine);
#  - src/net knows nothing of the router, the control server or plugins;
#  - src/plugin does no network I/O (no net/ header, no libuv call);
#  - src/daemon never reads nor makes the identity key (its signer
#    process does: src/identity/signer.c), and only src/sandbox calls
#    libseccomp.
set -euo pipefail
BUILD=${BUILD:-build}
TOP=${FASTN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
status=0

fail() {
    echo "FAIL: $*" >&2
    status=1
}

# deps SUB: the dependency files of src/SUB's objects (failing when the
# build has none: nothing would be checked).
deps() {
    local d=$BUILD/obj/src/$1
    ls "$d"/*.d >/dev/null 2>&1 ||
        { echo "FAIL: no objects in $d: build first (make test-build)" >&2; exit 1; }
    echo "$d"/*.d
}

# no_header SUB PATTERN WHY: no object of src/SUB depends on a header
# matching PATTERN (an extended regex on the header's path).
no_header() {
    local sub=$1 pat=$2 why=$3 hits
    # shellcheck disable=SC2046
    hits=$(grep -lE "(^|[ /])(src|gen)/($pat)" $(deps "$sub") || true)
    if [ -n "$hits" ]; then
        fail "src/$sub includes src/$2 ($why): $(echo "$hits" | xargs -n1 basename | tr '\n' ' ')"
    else
        echo "ok: src/$sub does not include src/$pat"
    fi
}

# no_call SUB PATTERN WHY: no object of src/SUB calls a symbol matching
# PATTERN.
no_call() {
    local sub=$1 pat=$2 why=$3 hits
    hits=$(nm -u "$BUILD"/obj/src/"$sub"/*.o 2>/dev/null |
        awk '{print $NF}' | grep -E "^($pat)" | sort -u || true)
    if [ -n "$hits" ]; then
        fail "src/$sub calls $(echo "$hits" | tr '\n' ' ')($why)"
    else
        echo "ok: src/$sub calls no $pat"
    fi
}

no_header ipc 'identity/' "the secret key stays out of the control server"
no_header ipc 'daemon/' "the daemon hands the server what it needs"
no_call ipc 'swarm_stream_' "stream I/O is the router's"
no_call ipc 'identity_' "no key operation in the control server"
no_header router 'ipc/|daemon/|plugin/|store/|registry/|identity/' \
    "nothing flows back up from the router"
no_call router 'ipc_|plugin_host_|store_|daemon_' \
    "the router reaches plugins, peers and quarantine through its ops"
no_header net 'router/|ipc/|plugin/|daemon/|store/|registry/' \
    "the network knows nothing above it"
no_header plugin 'net/|router/|ipc/|daemon/' \
    "the plugin host does no network I/O"
no_call plugin 'uv_|swarm_' "the plugin host does no network I/O"
no_call daemon 'identity_load|identity_create|identity_from_seed|identity_decode_private|identity_generate' \
    "the daemon never holds the key: its signer process reads it"
for sub in daemon identity net ipc router plugin store registry util; do
    no_call "$sub" 'seccomp_' "only src/sandbox calls libseccomp"
done
exit $status
