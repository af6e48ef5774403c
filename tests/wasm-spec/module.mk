# The WebAssembly spec suite: spec_runner executes one wast2json script;
# run.sh converts and runs them all (`make spec`, and part of `make test`).
SPEC_RUNNER := $(BUILD)/tests/wasm-spec/spec_runner
$(SPEC_RUNNER): $(BUILD)/obj/tests/wasm-spec/spec_runner.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
TEST_DEPS += $(SPEC_RUNNER)

.PHONY: spec
spec: $(SPEC_RUNNER)
	@BUILD=$(BUILD) bash tests/wasm-spec/run.sh
