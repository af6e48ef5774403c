# bench/ssh/scp.sh: scp through fastn ssh (two daemons, the ssh plugin)
# against plain ssh, on loopback, in the same run. A script only.
.PHONY: bench-ssh
bench-ssh: all
	BUILD=$(BUILD) bash bench/ssh/scp.sh
