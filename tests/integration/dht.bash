# DHT test helpers (sourced after common.bash and net.bash): homes in DHT
# server mode on loopback, and a network of them bootstrapping from the
# first. Used by integration/dht.sh and interop/dht_js.sh.

# dht_home [BOOTSTRAP]: a new home in server mode (bootstrap none when
# not given); prints its path.
dht_home() {
    local h
    h=$(new_home)
    printf 'private-addresses = yes\ndht = server\nbootstrap = %s\n' \
        "${1:-none}" >>"$h/config"
    echo "$h"
}

# dht_network N: starts N daemons, the first with no bootstrap peer and
# the others bootstrapping from it; fills H (homes), ID (PeerIDs) and
# ADDR (listen addresses), indexed from 0.
dht_network() {
    local i
    H=() ID=() ADDR=()
    for ((i = 0; i < $1; i++)); do
        if [ "$i" = 0 ]; then
            H[i]=$(dht_home none)
        else
            H[i]=$(dht_home "${ADDR[0]}")
        fi
        start_net "${H[i]}"
        ID[i]=$(peer_id "${H[i]}")
        ADDR[i]=$(listen_addr "${H[i]}")
    done
}
