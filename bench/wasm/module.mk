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
