# Rust plugins: the SDK crate sdk/rust/fastn-plugin and plugins/echo-rs,
# built with Debian's rustc for wasm32-unknown-unknown (packages rustc and
# libstd-rust-dev-wasm32: `scripts/install-deps.sh all`), straight with
# rustc: no cargo, no crates from outside. RUSTC is Debian's by default
# (/usr/bin/rustc), not one a user installed elsewhere, whose standard
# library for wasm32 may be missing.

RUSTC ?= /usr/bin/rustc
RUST_TARGET := wasm32-unknown-unknown
RUST_FLAGS := --edition 2021 --target $(RUST_TARGET) -O -C strip=debuginfo \
	-D warnings
RUST_OUT := $(BUILD)/rust
RUST_TOOLCHAIN := $(shell test -x $(RUSTC) && \
	test -d /usr/lib/rustlib/$(RUST_TARGET)/lib && echo yes)

# fastn_err codes for the crate, from include/fastn/err.h
$(RUST_OUT)/err.rs: include/fastn/err.h sdk/rust/module.mk
	@mkdir -p $(dir $@)
	sed -n 's/.*X(\(FASTN_[A-Z0-9_]*\), *\(-\{0,1\}[0-9][0-9]*\),.*/pub const \1: i32 = \2;/p' \
		$< >$@.tmp && mv $@.tmp $@

$(RUST_OUT)/libfastn_plugin.rlib: sdk/rust/fastn-plugin/src/lib.rs \
		$(RUST_OUT)/err.rs
	FASTN_ERR_RS=$(abspath $(RUST_OUT)/err.rs) $(RUSTC) $(RUST_FLAGS) \
		--crate-type rlib --crate-name fastn_plugin $< -o $@

$(RUST_OUT)/echo-rs.wasm: plugins/echo-rs/src/lib.rs \
		$(RUST_OUT)/libfastn_plugin.rlib
	@mkdir -p $(dir $@)
	$(RUSTC) $(RUST_FLAGS) --crate-type cdylib --crate-name echo_rs \
		--extern fastn_plugin=$(RUST_OUT)/libfastn_plugin.rlib \
		-L $(RUST_OUT) $< -o $@

# (in build/rust/, not build/plugins/: they are not bundled, signed or
# indexed; tests/integration/plugin_echo_rs.sh installs echo-rs unsigned)
RUST_PLUGINS := $(RUST_OUT)/echo-rs.wasm
.PHONY: rust-plugins
ifeq ($(RUST_TOOLCHAIN),yes)
rust-plugins: $(RUST_PLUGINS)
ALL_EXTRA += $(RUST_PLUGINS)
TEST_DEPS += $(RUST_PLUGINS)
else
rust-plugins:
	@echo "Rust plugins need rustc and libstd-rust-dev-wasm32:" >&2
	@echo "  run scripts/install-deps.sh all" >&2
	@exit 1
$(info note: Rust plugins are not built: no $(RUSTC) for $(RUST_TARGET) (scripts/install-deps.sh all))
endif
