# Plugins: plugins/NAME/*.c -> $(BUILD)/plugins/NAME.wasm, built with
# clang --target=wasm32-wasi against Debian's wasi-libc (packages clang,
# lld, wasi-libc, libclang-rt-14-dev-wasm32: `scripts/install-deps.sh all`).
# `make plugins` builds them; `make` does too when the toolchain is there.
# tests/plugins/module.mk reuses wasm_plugin_rule for the hostile plugins.

WASM_CC ?= clang
WASM_CFLAGS ?= -O2 -g0
WASM_ALL_CFLAGS := --target=wasm32-wasi -std=c11 -Wall -Wextra -Werror \
	-mexec-model=reactor -Iinclude $(WASM_CFLAGS)
# The manifest section survives --strip-debug; the stack is 64 KiB.
WASM_LDFLAGS := -Wl,--strip-debug -Wl,-z,stack-size=65536

# Is the wasm32-wasi toolchain installed? (clang finds Debian's wasi-libc
# sysroot itself; the builtins come from libclang-rt-14-dev-wasm32.)
WASM_TOOLCHAIN := $(shell command -v $(WASM_CC) >/dev/null 2>&1 && \
	command -v wasm-ld >/dev/null 2>&1 && \
	test -f /usr/lib/wasm32-wasi/libc.a && echo yes)

# $(call wasm_plugin_rule,OUT.wasm,SOURCES): one module from C sources.
define wasm_plugin_rule
$(1): $(2) include/fastn/plugin.h include/fastn/err.h
	@mkdir -p $$(dir $$@)
	$$(WASM_CC) $$(WASM_ALL_CFLAGS) $$(WASM_LDFLAGS) -o $$@ $(2)
endef

PLUGIN_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c))))
PLUGIN_NAMES := $(sort $(PLUGIN_NAMES))
PLUGIN_WASMS := $(patsubst %,$(BUILD)/plugins/%.wasm,$(PLUGIN_NAMES))
# The files plugin links its core library (plugins/files/lib) too.
plugin_srcs = $(wildcard plugins/$(1)/*.c) $(if $(filter files,$(1)),\
	$(filter-out %/hash_native.c,$(wildcard plugins/files/lib/*.c)))\
	$(if $(filter mail,$(1)),\
	$(filter-out %/sql_native.c,$(wildcard plugins/mail/lib/*.c)))
# memcpy/memmove/memset as memory.copy/fill (the engine runs them natively):
# the blocks pass through the plugin's memory several times.
$(BUILD)/plugins/files.wasm: WASM_ALL_CFLAGS += -Iplugins/files/lib -mbulk-memory
$(BUILD)/plugins/files.wasm: $(wildcard plugins/files/*.h plugins/files/lib/*.h)
# So does the mail plugin (plugins/mail/lib), with bulk memory too: each
# IMAP session's calloc (130 KiB), the 64 KiB chunks of a message and
# its replies, as interpreted byte loops, held the loop past the plugin's
# 10 ms slice on a loaded machine (the plugin stopped, its sessions reset).
$(BUILD)/plugins/mail.wasm: WASM_ALL_CFLAGS += -Iplugins/mail/lib -mbulk-memory
$(BUILD)/plugins/mail.wasm: $(wildcard plugins/mail/*.h plugins/mail/lib/*.h)
$(foreach p,$(PLUGIN_NAMES),$(eval $(call wasm_plugin_rule,\
	$(BUILD)/plugins/$(p).wasm,$(call plugin_srcs,$(p)))))

.PHONY: plugins
ifeq ($(WASM_TOOLCHAIN),yes)
plugins: $(PLUGIN_WASMS)
ALL_EXTRA += $(PLUGIN_WASMS)
else
plugins:
	@echo "plugins need clang, lld, wasi-libc and libclang-rt-14-dev-wasm32:" >&2
	@echo "  run scripts/install-deps.sh all" >&2
	@exit 1
$(info note: plugins are not built: no wasm32-wasi toolchain (scripts/install-deps.sh all))
endif

# `make install` also puts the plugins in $(PREFIX)/share/fastn/plugins/
# (the SDK header goes with include/fastn/*.h).
.PHONY: install-plugins
install: install-plugins
install-plugins: $(if $(filter yes,$(WASM_TOOLCHAIN)),$(PLUGIN_WASMS))
	install -d $(DESTDIR)$(PREFIX)/share/fastn/plugins
	$(if $(filter yes,$(WASM_TOOLCHAIN)),install -m 0644 $(PLUGIN_WASMS) \
		$(DESTDIR)$(PREFIX)/share/fastn/plugins/)

# Signatures and index.json of the bundled plugins: src/registry/sign.mk.
include src/registry/sign.mk

# The files plugin's core library (native and wasm32): plugins/files/lib.
include plugins/files/lib/module.mk

# The mail plugin's core library (native and wasm32): plugins/mail/lib.
include plugins/mail/lib/module.mk

# Plugins in Rust (plugins/echo-rs) and their SDK crate: sdk/rust.
include sdk/rust/module.mk
