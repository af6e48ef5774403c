# Test plugins for registries: tests/registry/greet-VERSION.c ->
# $(BUILD)/tests/registry/greet-VERSION.wasm (three versions of one
# plugin, greet.h), built with the plugins' toolchain (plugins/module.mk).
GREET_SRCS := $(wildcard tests/registry/greet-*.c)
GREET_WASMS := $(patsubst tests/registry/%.c,$(BUILD)/tests/registry/%.wasm,\
	$(GREET_SRCS))
$(BUILD)/tests/registry/%.wasm: tests/registry/%.c tests/registry/greet.h \
		include/fastn/plugin.h include/fastn/err.h
	@mkdir -p $(dir $@)
	$(WASM_CC) $(WASM_ALL_CFLAGS) $(WASM_LDFLAGS) -o $@ $<
ifeq ($(WASM_TOOLCHAIN),yes)
TEST_DEPS += $(GREET_WASMS)
endif
