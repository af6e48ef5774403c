# bench/registry/install.sh: installing a plugin from a file, a registry
# over HTTP (nginx), a registry folder and a peer. Scripts only: nothing
# to build beyond the programs and plugins.
.PHONY: bench-registry
bench-registry: all
	BUILD=$(BUILD) bash bench/registry/install.sh
