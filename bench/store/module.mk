# bench/store: what a plugin's SQL costs through the store, per call
# (figures in docs/BENCHMARKS.md, "Plugin databases").
#   make bench-store
BENCH_STORE := $(BUILD)/bench/store/pdb_bench
$(BENCH_STORE): $(BUILD)/obj/bench/store/pdb_bench.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(BENCH_STORE)

.PHONY: bench-store
bench-store: $(BENCH_STORE)
	$(BENCH_STORE) 5
bench: bench-store
