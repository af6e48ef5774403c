# Sourced by every benchmark that starts daemons: like the tests
# (tests/run.sh), a benchmark stays on this machine. Its daemons get no
# public bootstrap peers (the default list would dial the IPFS network
# where the machine reaches it) and no mDNS on the machine's networks.
# Set either variable to measure with them.
export FASTN_BOOTSTRAP="${FASTN_BOOTSTRAP:-none}"
export FASTN_MDNS="${FASTN_MDNS:-off}"
