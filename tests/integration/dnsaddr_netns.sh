#!/bin/bash
# /dnsaddr addresses, as the public libp2p bootstrap peers are published,
# in a network namespace this test creates with its own resolv.conf
# (ip netns exec mounts /etc/netns/NS/resolv.conf) pointing at a DNS
# server of the test (dns_txt.py) on the namespace's loopback. A reaches
# B by /dnsaddr/boot.test/p2p/B (whose TXT records name another peer,
# left out, and a further /dnsaddr name with B's address); a daemon whose
# bootstrap peer is a /dnsaddr address connects to it; records that name
# themselves, a missing name and a malformed answer end as clear errors
# within a bounded time, and the daemon goes on.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/netns.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
NS=fdns$$
netns_make "$NS"
mkdir -p "/etc/netns/$NS"
trap 'cleanup; netns_cleanup; rm -rf "/etc/netns/$NS"' EXIT
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
    >"/etc/netns/$NS/resolv.conf"

A=$(new_home) B=$(new_home) C=$(new_home) D=$(new_home)
L="listen = /ip4/127.0.0.1/tcp/0"
netns_start "$NS" "$B" "$L"
netns_start "$NS" "$C" "$L"
idB=$(peer_id "$B") idC=$(peer_id "$C")
addrB=$(listen_addr "$B")
[[ $addrB == /ip4/127.0.0.1/tcp/*/p2p/$idB ]] || fail "B's address: $addrB"

cat >"$TMPROOT/zone.json" <<ZONE
{
  "_dnsaddr.boot.test": ["dnsaddr=/dnsaddr/b.boot.test/p2p/$idB",
                         "dnsaddr=/ip4/127.0.0.1/tcp/9/p2p/$idC",
                         "not-a-dnsaddr=x", "dnsaddr=/garbage"],
  "_dnsaddr.b.boot.test": ["dnsaddr=$addrB"],
  "_dnsaddr.loop.test": ["dnsaddr=/dnsaddr/loop.test/p2p/$idC"],
  "_dnsaddr.bad.test": ["!loop"]
}
ZONE
in_ns "$NS" python3 "$TOP/tests/integration/dns_txt.py" "$TMPROOT/zone.json" \
    "$TMPROOT/dns.ready" 2>"$TMPROOT/dns.err" &
STARTED_PIDS+=("$!")
wait_for test -e "$TMPROOT/dns.ready" || fail "dns server: $(cat "$TMPROOT/dns.err")"

netns_start "$NS" "$A" "$L"
out=$(f "$A" connect "/dnsaddr/boot.test/p2p/$idB" 2>&1) ||
    fail "connect by /dnsaddr: $out"
[[ $out == *"connected to $idB"* ]] || fail "connect by /dnsaddr: $out"
f "$A" peers | grep -q "^$idB .*127.0.0.1" || fail "A's peers: $(f "$A" peers)"
pass "A reaches B by /dnsaddr/boot.test/p2p/B (through a nested /dnsaddr name)"

# records that name themselves, no such name, a malformed answer
for host in loop.test nx.test bad.test; do
    start=$(date +%s)
    out=$(timeout 30 "$FASTN_BIN_CLI" --home "$A" --no-autostart connect \
        "/dnsaddr/$host/p2p/$idC" 2>&1) && fail "connect /dnsaddr/$host: $out"
    [ $(($(date +%s) - start)) -le 20 ] || fail "/dnsaddr/$host took too long"
    [[ $out == *"$idC"* || $out == *address* ]] || fail "/dnsaddr/$host: $out"
    echo "/dnsaddr/$host: $out"
done
f "$A" status >/dev/null || fail "A stopped serving"
f "$A" peers | grep -q "^$idC " && fail "A connected to C through a bad record"
pass "self-naming records, a missing name, a malformed answer: errors; A serves"

# a bootstrap peer given as /dnsaddr
netns_start "$NS" "$D" "$L" "bootstrap = /dnsaddr/boot.test/p2p/$idB"
wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '$D' --no-autostart peers | grep -q '^$idB '" ||
    fail "D did not reach its /dnsaddr bootstrap peer: $(grep -i 'dht\|dnsaddr' "$D/stderr.log" | tail -5)"
pass "a /dnsaddr bootstrap peer is reached"
