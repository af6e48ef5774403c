# tests/sandbox: fastnd with the seccomp tests' hook (hooks.c), a test
# program only: the release fastnd has no such hook.
FASTND_HOOKS := $(BUILD)/tests/sandbox/fastnd-hooks
$(FASTND_HOOKS): $(call obj,$(FASTND_MAIN) tests/sandbox/hooks.c) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
TEST_DEPS += $(FASTND_HOOKS)
