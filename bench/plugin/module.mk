# bench/plugin: plugin host benchmarks (bench/plugin/run.sh runs them and
# writes the figures for docs/BENCHMARKS.md, "Plugins").
#   make bench-plugin
BENCH_PLUGIN := $(BUILD)/bench/plugin/plugin_bench
$(BENCH_PLUGIN): $(BUILD)/obj/bench/plugin/plugin_bench.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(BENCH_PLUGIN)

.PHONY: bench-plugin
bench-plugin: $(BENCH_PLUGIN)
	BUILD=$(BUILD) sh bench/plugin/run.sh
bench: bench-plugin

BENCH_ROUNDTRIP := $(BUILD)/bench/plugin/roundtrip
$(BENCH_ROUNDTRIP): $(BUILD)/obj/bench/plugin/roundtrip.o $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(CLIENT_PKG_LIBS)
ALL_EXTRA += $(BENCH_ROUNDTRIP)

BENCH_RELAY_FLOOR := $(BUILD)/bench/plugin/relay_floor
$(BENCH_RELAY_FLOOR): $(BUILD)/obj/bench/plugin/relay_floor.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@
ALL_EXTRA += $(BENCH_RELAY_FLOOR)
