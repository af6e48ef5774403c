# bench/net: micro-benchmarks of the protocol cores (no sockets).
#   make bench-net-core   runs the Noise+yamux throughput benchmark
BENCH_NET_CORE := $(BUILD)/bench/net/core_throughput
$(BENCH_NET_CORE): $(BUILD)/obj/bench/net/core_throughput.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(BENCH_NET_CORE)

.PHONY: bench-net-core
bench-net-core: $(BENCH_NET_CORE)
	$(BENCH_NET_CORE)
bench: bench-net-core
