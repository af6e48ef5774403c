# plugins/files/lib: the files plugin's content-addressing and exchange
# core (CIDs, dag-pb, UnixFS, the importer, the walker, bitswap), portable
# C built twice:
#   natively  $(BUILD)/libfastn-files.a, with hash_native.c (libcrypto),
#             for the unit tests (tests/unit/test_files_*.c), the fuzz
#             targets (fuzz/fuzz_files_*.c) and tests/interop/files_cid;
#   wasm32    $(BUILD)/wasm/files/*.o (FILES_WASM_OBJS), without
#             hash_native.c: the plugin gives files_sha256() over the
#             host's import. tests/files/wasm_selftest.c links them into a
#             wasi command that tests/integration/files_wasm.sh runs on
#             fastn-wasm.
# Included from plugins/module.mk (plugins/module.mk builds only
# plugins/NAME/*.c, so nothing here becomes a plugin by itself).
FILES_LIB_DIR := plugins/files/lib
FILES_LIB_SRCS := $(filter-out $(FILES_LIB_DIR)/hash_native.c,\
	$(wildcard $(FILES_LIB_DIR)/*.c))
FILES_LIB := $(BUILD)/libfastn-files.a
# Native SHA-256: libcrypto (the CPU's SHA extensions) when pkg-config
# finds it, else libsodium; `make FILES_HASH=sodium` forces libsodium.
FILES_HASH ?= $(if $(shell pkg-config --exists libcrypto && echo y),openssl,sodium)
ifeq ($(FILES_HASH),openssl)
FILES_HASH_LIBS := $(shell pkg-config --libs libcrypto)
$(call obj,$(FILES_LIB_DIR)/hash_native.c): ALL_CPPFLAGS += \
	$(shell pkg-config --cflags libcrypto)
else
$(call obj,$(FILES_LIB_DIR)/hash_native.c): ALL_CPPFLAGS += -DFILES_HASH_SODIUM
endif
FILES_HASH_STAMP := $(BUILD)/files-hash
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(FILES_HASH_STAMP) 2>/dev/null)" = "$(FILES_HASH)" ] || echo $(FILES_HASH) >$(FILES_HASH_STAMP); })
$(call obj,$(FILES_LIB_DIR)/hash_native.c): $(FILES_HASH_STAMP)
$(FILES_LIB): $(call obj,$(FILES_LIB_SRCS) $(FILES_LIB_DIR)/hash_native.c)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
ALL_EXTRA += $(FILES_LIB)

# Programs outside the library see its headers through -I.
FILES_CPPFLAGS := -I$(FILES_LIB_DIR)
$(BUILD)/obj/tests/unit/test_files_%.o: ALL_CPPFLAGS += $(FILES_CPPFLAGS)
$(BUILD)/obj/fuzz/fuzz_files_%.o: ALL_CPPFLAGS += $(FILES_CPPFLAGS)
$(BUILD)/obj/tests/interop/files_%.o: ALL_CPPFLAGS += $(FILES_CPPFLAGS)
$(BUILD)/obj/bench/files/%.o: ALL_CPPFLAGS += $(FILES_CPPFLAGS)

# Unit tests and fuzz targets link the library too (the generic rules in
# Makefile and fuzz/module.mk give the recipes).
FILES_UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,\
	$(wildcard tests/unit/test_files_*.c))
$(FILES_UNIT_BINS): $(FILES_LIB)
$(FILES_UNIT_BINS): LIBS += $(FILES_HASH_LIBS)
FILES_FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_files_*.c))
FILES_FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FILES_FUZZ_NAMES)) \
	$(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FILES_FUZZ_NAMES))
$(FILES_FUZZ_BINS): $(FILES_LIB)
$(FILES_FUZZ_BINS): LIBS += $(FILES_HASH_LIBS)

# files_cid: the root CID of a file, a folder or a generated stream, for
# tests/interop/files_cid.sh and bench/files.
FILES_CID_TOOL := $(BUILD)/tests/interop/files_cid
$(FILES_CID_TOOL): $(BUILD)/obj/tests/interop/files_cid.o $(FILES_LIB) \
		$(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS) $(FILES_HASH_LIBS)
TEST_DEPS += $(FILES_CID_TOOL)

# The same sources for wasm32-wasi, -Werror, and a wasi command over them.
ifeq ($(WASM_TOOLCHAIN),yes)
FILES_WASM_CFLAGS := --target=wasm32-wasi -std=c11 -Wall -Wextra -Werror \
	-Iinclude -I$(FILES_LIB_DIR) $(WASM_CFLAGS)
FILES_WASM_OBJS := $(patsubst $(FILES_LIB_DIR)/%.c,$(BUILD)/wasm/files/%.o,\
	$(FILES_LIB_SRCS))
$(BUILD)/wasm/files/%.o: $(FILES_LIB_DIR)/%.c $(wildcard $(FILES_LIB_DIR)/*.h) \
		include/fastn/err.h
	@mkdir -p $(dir $@)
	$(WASM_CC) $(FILES_WASM_CFLAGS) -c $< -o $@
FILES_WASM_SELFTEST := $(BUILD)/wasm/files/selftest.wasm
$(FILES_WASM_SELFTEST): tests/files/wasm_selftest.c $(FILES_WASM_OBJS)
	$(WASM_CC) $(FILES_WASM_CFLAGS) -Wl,-z,stack-size=65536 -o $@ $^
ALL_EXTRA += $(FILES_WASM_OBJS) $(FILES_WASM_SELFTEST)
endif

# The seed corpora of fuzz/fuzz_files_*.c, from real data (committed;
# `make files-fuzz-seeds` writes them again).
FILES_FUZZ_SEEDS := $(BUILD)/tests/files/fuzz_seeds
$(BUILD)/obj/tests/files/%.o: ALL_CPPFLAGS += $(FILES_CPPFLAGS)
$(FILES_FUZZ_SEEDS): $(BUILD)/obj/tests/files/fuzz_seeds.o $(FILES_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS) $(FILES_HASH_LIBS)
.PHONY: files-fuzz-seeds
files-fuzz-seeds: $(FILES_FUZZ_SEEDS)
	mkdir -p fuzz/corpus/files_cid fuzz/corpus/files_dagpb \
		fuzz/corpus/files_bitswap
	$(FILES_FUZZ_SEEDS) fuzz/corpus
