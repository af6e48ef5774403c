#!/bin/sh
# Installs the Debian 12 packages fastn-p2p needs to build, test and
# benchmark, and only those that are missing. Run as root, or as a user
# who may run sudo. Usage: scripts/install-deps.sh [build|test|deb|all]
set -eu

# Packages the product links against or is built with (libseccomp: the
# seccomp filters of fastnd and its signer; minisign signs the
# bundled plugins: src/registry/sign.mk).
build_pkgs="make gcc pkg-config libsodium-dev libuv1-dev libprotobuf-c-dev
protobuf-c-compiler libsqlite3-dev libjansson-dev libcurl4-openssl-dev
libssl-dev libseccomp-dev minisign scdoc"
# Packages for plugins, tests, fuzzing and benchmarks: clang for wasm32-wasi
# and libFuzzer, wabt for the spec suite, node/npm for js-libp2p test peers,
# nginx-light to serve a plugin registry on loopback, systemd for
# systemd-socket-activate and systemd-analyze (it is not started), zsh and
# man-db for the completion and unit tests, strace for the system-call check,
# valgrind for the engine's instruction counts (bench/wasm/icount.sh),
# rustc and libstd-rust-dev-wasm32 for the plugins in Rust (sdk/rust,
# plugins/echo-rs; its wasm32-unknown-unknown standard library); curl
# and python3 (smtplib, imaplib), isync (mbsync) and s-nail as the mail
# plugin's real clients; dovecot-imapd, what bench/mail/imap.sh compares
# the plugin's IMAP with; rsync, what bench/files/transfer.sh compares
# files get with.
test_pkgs="clang lld wasi-libc libclang-rt-14-dev libclang-rt-14-dev-wasm32
wabt clang-format nginx-light iproute2 nftables util-linux procps openssh-client
openssh-server nodejs npm ca-certificates jq sqlite3 systemd zsh man-db
strace valgrind rustc libstd-rust-dev-wasm32 curl python3 rsync
isync s-nail dovecot-imapd"
# Packages for `make deb` (dpkg-buildpackage, debhelper, lintian); the
# package's build dependencies are the two lists above.
deb_pkgs="dpkg-dev debhelper lintian"

what=${1:-all}
case "$what" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
deb) want="$build_pkgs $test_pkgs $deb_pkgs" ;;
all) want="$build_pkgs $test_pkgs $deb_pkgs" ;;
*)
    echo "usage: $0 [build|test|deb|all]" >&2
    exit 2
    ;;
esac

missing=""
for p in $want; do
    # nodejs/npm may come from another source (e.g. NodeSource); a
    # working command is as good as the Debian package.
    case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

# The js-libp2p interop peers need Node.js >= 20; Debian 12's nodejs is
# 18. Said here, before any test skips for it (a skip fails `make test`
# unless FASTN_TEST_ALLOW_SKIP=1).
node_check() {
    case "$what" in build) return 0 ;; esac
    v=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
    if [ -n "$v" ] && [ "$v" -lt 20 ]; then
        echo "install-deps: node $(node --version) is older than 20, which the" \
            "interop tests (tests/interop, js-libp2p) need: install Node.js 20" \
            "or newer (Debian 12 ships 18), or run the tests with" \
            "FASTN_TEST_ALLOW_SKIP=1 to accept their skips" >&2
    fi
}

if [ -z "$missing" ]; then
    node_check
    exit 0
fi

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "install-deps: these Debian packages are missing:$missing" >&2
    echo "install-deps: run this script as root, or install them with" >&2
    echo "  apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends $missing; then
    echo "install-deps: apt-get install failed; refreshing the package lists" >&2
    if ! { $sudo apt-get update && \
        $sudo apt-get install -y --no-install-recommends $missing; }; then
        echo "install-deps: could not install:$missing" >&2
        echo "install-deps: check the network and /etc/apt/sources.list," >&2
        echo "  then run: apt-get install$missing" >&2
        exit 1
    fi
fi
node_check
