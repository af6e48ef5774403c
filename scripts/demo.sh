#!/bin/sh
# `make demo`: the main job of fastn-p2p on one machine. Two daemons,
# alice and bob, each in a temporary home listening on loopback. Alice
# has the chat plugin, bob does not: alice writes to bob, bob's daemon
# keeps the message and offers him chat (a signed plugin, found in the
# installation's registry); bob approves, chat is installed and handed
# the message, which bob reads, and alice sees it delivered. Then bob
# answers. Then both stop and the homes go away.
# Usage: BUILD=build sh scripts/demo.sh
set -eu
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/$BUILD/bin
chat=$top/$BUILD/plugins/chat.wasm
[ -x "$bin/fastnd" ] && [ -x "$bin/fastn" ] || {
    echo "demo: build first: make" >&2
    exit 1
}
[ -f "$chat" ] || {
    echo "demo: the chat plugin is not built (scripts/install-deps.sh all)" >&2
    exit 1
}
FASTND=$bin/fastnd
export FASTND
alice=$(mktemp -d /tmp/fastn-demo-alice.XXXXXX)
bob=$(mktemp -d /tmp/fastn-demo-bob.XXXXXX)

stop_one() {
    if [ -f "$1/fastnd.lock" ]; then
        pid=$(cat "$1/fastnd.lock")
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
    rm -rf "$1"
}
stop() {
    stop_one "$alice"
    stop_one "$bob"
}
trap stop EXIT INT TERM

show() { # WHO ARGS...: runs fastn as WHO
    who=$1
    shift
    eval "home=\$$who"
    echo
    echo "$who\$ fastn $*"
    "$bin/fastn" --home "$home" "$@"
}

echo "fastn-p2p demo: two daemons on this machine, alice and bob"
# each daemon detaches once its socket and network are ready
"$bin/fastnd" --home "$alice" --listen /ip4/127.0.0.1/tcp/0
"$bin/fastnd" --home "$bob" --listen /ip4/127.0.0.1/tcp/0
show alice id
show alice status
alice_id=$("$bin/fastn" --home "$alice" id | sed -n 1p)
alice_addr=$("$bin/fastn" --home "$alice" id | sed -n 2p)
bob_id=$("$bin/fastn" --home "$bob" id | sed -n 1p)
bob_addr=$("$bin/fastn" --home "$bob" id | sed -n 2p)

echo
echo "alice installs the chat plugin (one .wasm, its manifest inside);"
echo "bob has none:"
show alice plugin install "$chat"
show bob plugin list

echo
echo "they get to know each other (chat serves known peers only):"
show alice connect "$bob_addr"
show bob connect "$alice_addr"

echo
echo "alice writes to bob; bob has no chat, so his daemon keeps it:"
show alice chat send "$bob_id" "hello bob, this is alice"
show alice chat log "$bob_id"
echo
echo "bob is told, and offered the plugin that handles it:"
i=0
until "$bin/fastn" --home "$bob" plugin pending 2>/dev/null | grep -q offered; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || break
    sleep 0.1
done
show bob notifications
show bob plugin pending
echo
echo "bob approves: chat is installed and handed the message:"
show bob plugin approve /fastn/chat/1.0.0 --grant streams
i=0
until "$bin/fastn" --home "$alice" chat log "$bob_id" | grep -q delivered; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || break
    sleep 0.1
done
echo
echo "bob reads it, and alice sees it delivered:"
show bob chat log
show alice chat log "$bob_id"
echo
echo "bob answers:"
show bob chat send "$alice_id" "hi alice, got it"
show alice notifications
show alice chat log "$bob_id"

echo
echo "alice shares a file by its IPFS CID; bob fetches it over bitswap:"
files=$top/$BUILD/plugins/files.wasm
show alice plugin install "$files"
show bob plugin install "$files"
head -c 16777216 /dev/urandom >"$alice/photos.bin"
show alice files add "$alice/photos.bin"
cid=$("$bin/fastn" --home "$alice" files list | sed -n 1p | cut -f1)
show alice files share "$cid" --with "$bob_id"
link=$("$bin/fastn" --home "$alice" files share "$cid" --with "$bob_id")
show bob files get "$link" -o "$bob/photos.bin"
cmp "$alice/photos.bin" "$bob/photos.bin" && echo "(the same bytes)"
show bob files list

echo
echo "alice mails bob: curl submits it over SMTP at alice's daemon, the"
echo "daemons deliver it, bob reads it with curl over IMAP at his:"
mail=$top/$BUILD/plugins/mail.wasm
show alice plugin install "$mail"
show bob plugin install "$mail"
as=$("$bin/fastn" --home "$alice" mail setup --json)
echo
echo "alice\$ fastn mail setup --json   (what a mail client needs)"
echo "$as"
bs=$("$bin/fastn" --home "$bob" mail setup --json)
a_from=$(echo "$as" | jq -r .address)
b_to=$(echo "$bs" | jq -r .address)
printf 'From: Alice <%s>\r\nTo: Bob <%s>\r\nSubject: lunch?\r\n\r\nBob, lunch at noon?\r\n' \
    "$a_from" "$b_to" >"$alice/lunch.eml"
echo
echo "alice\$ curl smtp://127.0.0.1:$(echo "$as" | jq .smtp_port) --mail-from $a_from --mail-rcpt $b_to -T lunch.eml"
curl -sS "smtp://127.0.0.1:$(echo "$as" | jq .smtp_port)" \
    --user "me:$(echo "$as" | jq -r .password)" --mail-from "$a_from" \
    --mail-rcpt "$b_to" -T "$alice/lunch.eml"
i=0
until "$bin/fastn" --home "$bob" mail list --json | jq -e '.messages | length > 0' >/dev/null ||
    [ $i -ge 100 ]; do
    sleep 0.2
    i=$((i + 1))
done
show bob mail list
echo
echo "bob\$ curl imap://127.0.0.1:$(echo "$bs" | jq .imap_port)/INBOX;UID=1"
curl -sS "imap://127.0.0.1:$(echo "$bs" | jq .imap_port)/INBOX;UID=1" \
    --user "me:$(echo "$bs" | jq -r .password)"

echo
echo "every command above used one connection between the daemons, made once:"
show alice peers
show alice ping "$bob_id" -c 3
show alice perf "$bob_id" --upload 64M --download 64M
echo
echo "demo done"
