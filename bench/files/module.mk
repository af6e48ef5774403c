# bench/files: the files core's importer against IPFS's own (npm
# ipfs-unixfs-importer, as helia uses it), 1 GiB in each IPIP-499 profile
# (bench/files/import.sh; figures in docs/BENCHMARKS.md, "Files").
#   make bench-files
.PHONY: bench-files
bench-files: $(FILES_CID_TOOL)
	BUILD=$(BUILD) bash bench/files/import.sh
