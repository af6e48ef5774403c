# bench/net: networking benchmarks (run by hand, never by `make test`).
#   make bench-net-core        Noise+yamux throughput of the cores (no sockets)
#   make bench-net-latency     call latency: cold vs pooled, fastn and js-libp2p
#   make bench-net-throughput  one stream: fastnd, js-libp2p, OpenSSH, TCP
#   make bench-net-call-cpu    one stream through fastn call and fastn listen:
#                              each process's CPU per GB (and --strace, --perf)
#   make bench-net-netem       20 ms each way: connect + first call, 1 and
#                              64 MiB downloads, fastn and js-libp2p
#   make bench-reach           issue 12: PeerID to direct connection across
#                              two NATs (lookup, relayed, hole punch),
#                              fastn and js-libp2p; throughput through a
#                              fastn relay vs direct (bench/net/reach.sh)
#   make bench-net-hog         memory under 1000 peers that never read
#   make bench-scale           10,000 peers on one daemon (time, memory, answers)
#   make bench-clients         1,000 local clients x 100 calls through one daemon
#   make bench-net             the latency and throughput ones
BENCH_NET_CORE := $(BUILD)/bench/net/core_throughput
$(BENCH_NET_CORE): $(BUILD)/obj/bench/net/core_throughput.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(BENCH_NET_CORE)

BENCH_NET_LATENCY := $(BUILD)/bench/net/latency
$(BENCH_NET_LATENCY): $(BUILD)/obj/bench/net/latency.o $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
BENCH_NET_TUNDELAY := $(BUILD)/bench/net/tundelay
$(BENCH_NET_TUNDELAY): $(BUILD)/obj/bench/net/tundelay.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@
ALL_EXTRA += $(BENCH_NET_LATENCY) $(BENCH_NET_TUNDELAY)

BENCH_NET_CONNS := $(BUILD)/bench/net/conns
$(BENCH_NET_CONNS): $(BUILD)/obj/bench/net/conns.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(BENCH_NET_CONNS)

# many local clients at once (bench/net/clients.sh; a smaller run in
# tests/integration/many_clients.sh)
BENCH_NET_CLIENTS := $(BUILD)/bench/net/clients
$(BENCH_NET_CLIENTS): $(BUILD)/obj/bench/net/clients.o $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(BENCH_NET_CLIENTS)

BENCH_NET_TOOLS := $(PROGRAMS) $(BENCH_NET_LATENCY) $(BENCH_NET_TUNDELAY) \
	$(BUILD)/tests/integration/tcp_tool

.PHONY: bench-net-core bench-net bench-net-latency bench-net-throughput \
	bench-net-hog bench-scale bench-clients bench-net-netem bench-net-call-cpu \
	bench-reach
bench-net-core: $(BENCH_NET_CORE)
	$(BENCH_NET_CORE)
bench-net-latency: $(BENCH_NET_TOOLS)
	BUILD=$(BUILD) bash bench/net/latency.sh
bench-net-throughput: $(BENCH_NET_TOOLS)
	BUILD=$(BUILD) bash bench/net/throughput.sh
bench-net-call-cpu: $(BENCH_NET_TOOLS)
	BUILD=$(BUILD) bash bench/net/call_cpu.sh
bench-net-netem: $(BENCH_NET_TOOLS)
	BUILD=$(BUILD) bash bench/net/netem.sh
bench-reach: $(BENCH_NET_TOOLS)
	BUILD=$(BUILD) bash bench/net/reach.sh
bench-net-hog: $(BENCH_NET_TOOLS) $(BUILD)/tests/integration/flood_peer \
		$(BUILD)/tests/integration/net_probe
	BUILD=$(BUILD) bash bench/net/hog.sh
bench-scale: $(BENCH_NET_TOOLS) $(BENCH_NET_CONNS) \
		$(BUILD)/tests/integration/net_probe
	BUILD=$(BUILD) bash bench/net/scale.sh
bench-clients: $(BENCH_NET_TOOLS) $(BENCH_NET_CLIENTS) \
		$(BUILD)/tests/plugins/narrow.wasm
	BUILD=$(BUILD) bash bench/net/clients.sh
bench-net: bench-net-latency bench-net-throughput
bench: bench-net-core
