# Fuzz targets: fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput over a
# production parser; fuzz/corpus/NAME/ holds its seeds and crashers.
#   make test   builds replay_NAME (any compiler) and replays every corpus
#   make fuzz   builds libFuzzer binaries with clang into build-fuzz/fuzz/
#   make fuzz-run  builds them and runs each for FUZZ_SECONDS (20) (CI)
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_REPLAY_BINS := $(patsubst %,$(BUILD)/fuzz/replay_%,$(FUZZ_NAMES))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o \
		$(BUILD)/obj/fuzz/replay_main.o $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LIBS)

TEST_DEPS += $(FUZZ_REPLAY_BINS)

.PHONY: fuzz fuzz-bins fuzz-run
fuzz-bins: $(FUZZ_BINS)
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
		LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@echo "run e.g.: build-fuzz/fuzz/fuzz_NAME fuzz/corpus/NAME"
fuzz-run: fuzz
	@FUZZ_SECONDS=$(or $(FUZZ_SECONDS),20) sh fuzz/run.sh
