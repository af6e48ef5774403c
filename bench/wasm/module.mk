# WebAssembly benchmark programs (bench/wasm/*.c): not part of `make` or
# `make test`.
#   make bench-wasm-build  build every program to wasm and natively, each in
#                          a full size and a small one (REPS=1)
#   make bench-wasm        build, then time them (bench/wasm/run.sh), with
#                          options in BENCH_WASM_ARGS (e.g. "-n 5")
# Each program is one freestanding C file exporting run(); see run.sh.
BENCH_WASM_PROGS := $(patsubst bench/wasm/%.c,%,$(filter-out \
	bench/wasm/main_native.c,$(wildcard bench/wasm/*.c)))
BENCH_WASM_DIR := $(BUILD)/bench/wasm
BENCH_WASM_CC ?= clang
# Strict IEEE arithmetic everywhere (no fused multiply-add, which wasm
# lacks) so that every runner computes bit-identical checksums; no libc.
BENCH_WASM_CFLAGS := -std=c11 -O2 -ffreestanding -fno-math-errno \
	-ffp-contract=off -Wall -Wextra -Werror
BENCH_WASM_LDWASM := --target=wasm32-wasi -nostdlib -Wl,--no-entry \
	-Wl,--export=run
BENCH_WASM_SMALL := -DREPS=1
BENCH_WASM_ARGS ?=

BENCH_WASM_OUT := $(foreach p,$(BENCH_WASM_PROGS),\
	$(BENCH_WASM_DIR)/$(p).wasm $(BENCH_WASM_DIR)/$(p).small.wasm \
	$(BENCH_WASM_DIR)/$(p).native $(BENCH_WASM_DIR)/$(p).small.native)

$(BENCH_WASM_DIR)/%.wasm: bench/wasm/%.c
	@mkdir -p $(dir $@)
	$(BENCH_WASM_CC) $(BENCH_WASM_CFLAGS) $(BENCH_WASM_LDWASM) $< -o $@
$(BENCH_WASM_DIR)/%.small.wasm: bench/wasm/%.c
	@mkdir -p $(dir $@)
	$(BENCH_WASM_CC) $(BENCH_WASM_CFLAGS) $(BENCH_WASM_SMALL) \
		$(BENCH_WASM_LDWASM) $< -o $@
$(BENCH_WASM_DIR)/%.native.o: bench/wasm/%.c
	@mkdir -p $(dir $@)
	$(BENCH_WASM_CC) $(BENCH_WASM_CFLAGS) -c $< -o $@
$(BENCH_WASM_DIR)/%.small.native.o: bench/wasm/%.c
	@mkdir -p $(dir $@)
	$(BENCH_WASM_CC) $(BENCH_WASM_CFLAGS) $(BENCH_WASM_SMALL) -c $< -o $@
$(BENCH_WASM_DIR)/main_native.o: bench/wasm/main_native.c
	@mkdir -p $(dir $@)
	$(BENCH_WASM_CC) -std=c11 -O2 -Wall -Wextra -Werror -c $< -o $@
$(BENCH_WASM_DIR)/%.native: $(BENCH_WASM_DIR)/%.native.o \
		$(BENCH_WASM_DIR)/main_native.o
	$(BENCH_WASM_CC) $^ -o $@

.PHONY: bench-wasm bench-wasm-build
bench-wasm-build: $(BENCH_WASM_OUT)
bench-wasm: bench-wasm-build $(if $(wildcard $(FASTN_WASM_MAIN)),$(FASTN_WASM))
	BUILD=$(BUILD) bash bench/wasm/run.sh --no-build $(BENCH_WASM_ARGS)
bench: bench-wasm

# Fuel prices (docs/BENCHMARKS.md, "Fuel prices"): CPU nanoseconds per
# unit of fuel for each class of work the engine charges.
#   make bench-wasm-price  build bench/wasm/price and run it on its module
#                          and on the benchmark programs (small variants)
BENCH_WASM_PRICE := $(BENCH_WASM_DIR)/fuel_price
$(BENCH_WASM_DIR)/price.wasm: bench/wasm/price/price.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@
$(BENCH_WASM_PRICE): $(BUILD)/obj/bench/wasm/price/price.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
.PHONY: bench-wasm-price
bench-wasm-price: $(BENCH_WASM_PRICE) $(BENCH_WASM_DIR)/price.wasm \
		$(patsubst %,$(BENCH_WASM_DIR)/%.small.wasm,$(BENCH_WASM_PROGS))
	$(BENCH_WASM_PRICE) $(BENCH_WASM_PRICE_ARGS) \
		$(BENCH_WASM_DIR)/price.wasm \
		$(patsubst %,$(BENCH_WASM_DIR)/%.small.wasm,$(BENCH_WASM_PROGS))
