# Shared by tests/integration/*.sh (sourced; not a test itself).
# Every daemon runs in a temporary home under $TMPROOT; every wait is
# bounded; on exit every daemon the test started is stopped (by the pid
# the test recorded or the pid in its home's lock file) and $TMPROOT is
# removed.
set -euo pipefail
[ -n "${FASTN_TEST_TRACE:-}" ] && set -E && trap 'echo "ERR at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND" >&2' ERR

BUILD=${BUILD:-build}
TOP=${FASTN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${FASTN_BIN:-$TOP/$BUILD/bin}
FASTND_BIN=$BIN/fastnd
FASTN_BIN_CLI=$BIN/fastn
PROBE=$TOP/$BUILD/tests/integration/ctl_probe
# autostart must start this build's fastnd, never one on $PATH
export FASTND=$FASTND_BIN
unset FASTN_HOME

TMPROOT=$(mktemp -d /tmp/fastn-it.XXXXXX)
chmod 755 "$TMPROOT"
# p2pd-style daemons make their temporary homes here
export TMPDIR=$TMPROOT
STARTED_PIDS=()

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "$*"
    exit 77
}

pass() {
    echo "ok: $*"
}

# Stops a process we started: TERM, then KILL after 5 s.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid lock f
    # a failed test shows what its daemons logged (tests/run.sh prints
    # the log's tail)
    if [ "$rc" != 0 ]; then
        for f in "$TMPROOT"/*/stderr.log "$TMPROOT"/*/fastnd.log; do
            [ -s "$f" ] || continue
            echo "--- $f (last 15 lines)" >&2
            tail -n ${FASTN_TEST_LOG_LINES:-15} "$f" >&2
        done
    fi
    for pid in "${STARTED_PIDS[@]}"; do
        stop_pid "$pid"
    done
    # detached daemons (background mode, autostart) left their pid here
    for lock in "$TMPROOT"/*/fastnd.lock; do
        [ -f "$lock" ] || continue
        pid=$(cat "$lock" 2>/dev/null || true)
        [ -n "$pid" ] || continue
        # a lock still held means that daemon is still running
        flock -n "$lock" true 2>/dev/null || stop_pid "$pid"
    done
    rm -rf "$TMPROOT"
}
trap cleanup EXIT

# new_home: a temporary home whose daemon listens on loopback only (tests
# never listen beyond the machine); tests add keys with >> "$H/config".
# new_home: a home on loopback. Data for a protocol nothing serves is
# refused ("na"), as the tests of other features expect; a test of the
# quarantine sets UNKNOWN_PROTOCOLS=ask (or trusted) first.
new_home() {
    local h
    h=$(mktemp -d "$TMPROOT/h.XXXXXX")
    printf 'listen = /ip4/127.0.0.1/tcp/0\nunknown-protocols = %s\n' \
        "${UNKNOWN_PROTOCOLS:-refuse}" >"$h/config"
    echo "$h"
}

# wait_for CMD...: retries a command for up to 5 s.
wait_for() {
    local i
    for i in $(seq 100); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# wait_until SECONDS CMD...: retries CMD every 0.2 s.
wait_until() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 5; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# wait_gone PID: waits up to 5 s for a process to end.
wait_gone() {
    local i
    for i in $(seq 100); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    return 1
}

# start_fg HOME [ARGS...]: fastnd in the foreground, as a child of the
# test; sets DAEMON_PID and waits for its socket.
start_fg() {
    local home=$1
    shift
    "$FASTND_BIN" --home "$home" --foreground "$@" \
        >>"$home/stdout.log" 2>>"$home/stderr.log" &
    DAEMON_PID=$!
    STARTED_PIDS+=("$DAEMON_PID")
    wait_for test -S "$home/fastnd.sock" ||
        fail "fastnd did not create $home/fastnd.sock: $(cat "$home/stderr.log")"
    # the socket may be a killed daemon's, which the new one replaces
    wait_until 20 "$FASTN_BIN_CLI" --home "$home" --no-autostart status ||
        fail "fastnd on $home does not answer: $(tail -n 5 "$home/stderr.log")"
}

# sighup PID LOG: SIGHUP to a daemon, then waits until LOG (its stderr.log
# or fastnd.log) has one more "config reloaded" line.
sighup() {
    local before i
    before=$(grep -c "config reloaded" "$2" || true)
    kill -HUP "$1"
    for i in $(seq 100); do
        [ "$(grep -c "config reloaded" "$2" || true)" -gt "$before" ] &&
            return 0
        sleep 0.05
    done
    fail "SIGHUP did not reload the config ($2)"
}

# daemon_pid HOME: the pid a (detached) daemon wrote into its lock file.
daemon_pid() {
    cat "$1/fastnd.lock"
}

fastn() {
    "$FASTN_BIN_CLI" "$@"
}

has_jq() {
    command -v jq >/dev/null 2>&1
}
