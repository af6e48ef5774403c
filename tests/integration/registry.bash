# Shared by the tests of signed plugins and registries (sourced after
# common.bash; not a test itself): minisign keys and signatures made by
# the real minisign, registries built with fastn-registry-build, and nginx
# (Debian's nginx-light) serving one on 127.0.0.1 with its own config in
# the test's temporary folder.
command -v minisign >/dev/null || skip "minisign is missing (scripts/install-deps.sh)"
TCP_TOOL=$TOP/$BUILD/tests/integration/tcp_tool
GREET=$TOP/$BUILD/tests/registry
[ -f "$GREET/greet-1.0.0.wasm" ] && [ -f "$TOP/$BUILD/plugins/chat.wasm" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"

# make_key NAME: $TMPROOT/NAME.pub and NAME.key, no password.
make_key() {
    minisign -G -W -p "$TMPROOT/$1.pub" -s "$TMPROOT/$1.key" </dev/null >/dev/null
}

# key_id NAME: the key id as fastn prints it: 16 upper-case hex digits
# (minisign 0.11 leaves out leading zeros).
key_id() {
    local id
    id=$(sed -n 1p "$TMPROOT/$1.pub" | sed 's/.*public key \([0-9A-Fa-f]*\).*/\1/')
    while [ ${#id} -lt 16 ]; do id=0$id; done
    tr a-f A-F <<<"$id"
}

# sign NAME FILE [COMMENT] [-l]: FILE.minisig by key NAME (-l: legacy Ed).
sign() {
    local key=$1 file=$2 comment=${3:-"$(basename "$2") by $1"}
    shift 2
    [ $# -gt 0 ] && shift
    minisign -S -s "$TMPROOT/$key.key" -m "$file" -x "$file.minisig" \
        -t "$comment" "$@" </dev/null >/dev/null
}

# registry_dir DIR KEY FILE...: a registry folder: each FILE copied in,
# signed by KEY, and index.json written by `fastn registry build`.
registry_dir() {
    local dir=$1 key=$2 f
    shift 2
    mkdir -p "$dir"
    for f in "$@"; do
        cp "$f" "$dir/"
        sign "$key" "$dir/$(basename "$f")"
    done
    "$FASTN_BIN_CLI" registry build --key "$TMPROOT/$key.pub" "$dir" >/dev/null
}

# start_nginx ROOT: nginx serving ROOT/www on 127.0.0.1:$NGINX_PORT, with
# /stall/ proxied to a server that never answers (tcp_tool hold).
start_nginx() {
    local root=$1 i hold_port
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
        skip "nginx is missing (nginx-light, scripts/install-deps.sh)"
    mkdir -p "$root/www" "$root/t"
    "$TCP_TOOL" hold >"$root/hold.port" &
    STARTED_PIDS+=($!)
    wait_for test -s "$root/hold.port" || fail "tcp_tool hold did not start"
    hold_port=$(cat "$root/hold.port")
    for i in 1 2 3 4 5; do
        NGINX_PORT=$((20000 + RANDOM % 30000))
        cat >"$root/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
pid $root/nginx.pid; error_log $root/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $root/t; proxy_temp_path $root/t;
  fastcgi_temp_path $root/t; uwsgi_temp_path $root/t; scgi_temp_path $root/t;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $root/www;
    location /stall/ { proxy_pass http://127.0.0.1:$hold_port/;
                       proxy_read_timeout 600s; }
  }
}
EOF
        "$(command -v nginx || echo /usr/sbin/nginx)" -p "$root" \
            -c "$root/nginx.conf" -e /dev/null &
        NGINX_PID=$!
        STARTED_PIDS+=("$NGINX_PID")
        if wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$NGINX_PORT" &&
            kill -0 "$NGINX_PID" 2>/dev/null; then
            return 0
        fi
        stop_pid "$NGINX_PID"
    done
    fail "nginx did not start: $(cat "$root/error.log" 2>/dev/null)"
}
