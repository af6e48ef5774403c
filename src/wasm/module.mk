# WebAssembly engine. interp.c uses computed goto (a GNU C extension,
# selected by __GNUC__); -std=c11 without -pedantic accepts it, so the
# engine needs no extra flags. fastn-wasm itself is built by the Makefile.


# Development: `make wasm-prof` builds fastn-wasm-prof, whose interpreter
# counts executed ops, op pairs and hot code locations and prints them at
# exit (src/wasm/prof.h). Not part of `make`.
WASM_PROF_BIN := $(BUILD)/bin/fastn-wasm-prof
$(BUILD)/obj/wasm-prof/interp.o: src/wasm/interp.c src/wasm/prof.h \
		src/wasm/wasm_int.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -DWASM_PROFILE -c $< -o $@
$(WASM_PROF_BIN): $(BUILD)/obj/wasm-prof/interp.o \
		$(call obj,$(FASTN_WASM_MAIN)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
.PHONY: wasm-prof
wasm-prof: $(WASM_PROF_BIN)
