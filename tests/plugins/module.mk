# Hostile test plugins: tests/plugins/NAME.c -> $(BUILD)/tests/plugins/NAME.wasm
# (one source each, built like plugins/ by wasm_plugin_rule from
# plugins/module.mk). They are built before the tests run; the manifest
# unit test loads each one, and the plugin host's tests run them.
HOSTILE_SRCS := $(wildcard tests/plugins/*.c)
HOSTILE_WASMS := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.wasm,\
	$(HOSTILE_SRCS))
$(foreach s,$(HOSTILE_SRCS),$(eval $(call wasm_plugin_rule,\
	$(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.wasm,$(s)),$(s))))

.PHONY: test-plugins
ifeq ($(WASM_TOOLCHAIN),yes)
test-plugins: $(HOSTILE_WASMS)
TEST_DEPS += $(HOSTILE_WASMS)
endif
