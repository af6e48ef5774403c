# Build-time signing of the bundled plugins, included at the end of
# plugins/module.mk (it needs PLUGIN_WASMS). When the plugins are built,
# `make` also:
#   - creates a build-local minisign key without a password,
#     $(BUILD)/keys/fastn-build.{key,pub}, if there is none (build/ is
#     never in git: .gitignore);
#   - signs each $(BUILD)/plugins/NAME.wasm into NAME.wasm.minisig
#     (minisign's default, prehashed "ED"; Ed25519 is deterministic, so a
#     rebuild of the same plugin gives the same signature);
#   - writes $(BUILD)/plugins/index.json with fastn-registry-build, which
#     verifies each signature against the key first.
# `make install` puts the .minisig files and index.json beside the
# plugins in PREFIX/share/fastn/plugins/ and the public key in
# PREFIX/share/fastn/trusted-publishers/, so an installation trusts its
# own plugins and nothing else. minisign is a build package
# (scripts/install-deps.sh build) for this.
MINISIGN ?= minisign
BUILD_KEY_DIR := $(BUILD)/keys
BUILD_SECKEY := $(BUILD_KEY_DIR)/fastn-build.key
BUILD_PUBKEY := $(BUILD_KEY_DIR)/fastn-build.pub
PLUGIN_SIGS := $(PLUGIN_WASMS:=.minisig)
PLUGIN_INDEX := $(BUILD)/plugins/index.json

$(BUILD_SECKEY):
	@command -v $(MINISIGN) >/dev/null 2>&1 || { echo "signing the \
	plugins needs minisign: run scripts/install-deps.sh build" >&2; exit 1; }
	@mkdir -p $(BUILD_KEY_DIR) && chmod 700 $(BUILD_KEY_DIR)
	rm -f $(BUILD_PUBKEY)
	$(MINISIGN) -G -W -p $(BUILD_PUBKEY) -s $@ </dev/null >/dev/null
	chmod 600 $@
$(BUILD_PUBKEY): $(BUILD_SECKEY)

$(BUILD)/plugins/%.wasm.minisig: $(BUILD)/plugins/%.wasm $(BUILD_SECKEY)
	$(MINISIGN) -S -s $(BUILD_SECKEY) -m $< -x $@ \
		-t "fastn $(VERSION) bundled plugin $*.wasm" </dev/null >/dev/null

$(PLUGIN_INDEX): $(PLUGIN_SIGS) $(REGISTRY_TOOL) $(BUILD_PUBKEY)
	$(REGISTRY_TOOL) --key $(BUILD_PUBKEY) $(BUILD)/plugins >/dev/null

.PHONY: sign-plugins install-registry
sign-plugins: $(PLUGIN_SIGS) $(PLUGIN_INDEX)
ifeq ($(WASM_TOOLCHAIN),yes)
ALL_EXTRA += $(PLUGIN_SIGS) $(PLUGIN_INDEX)
install: install-registry
install-registry: install-plugins $(PLUGIN_SIGS) $(PLUGIN_INDEX)
	install -d $(DESTDIR)$(PREFIX)/share/fastn/trusted-publishers
	install -m 0644 $(PLUGIN_SIGS) $(PLUGIN_INDEX) \
		$(DESTDIR)$(PREFIX)/share/fastn/plugins/
	install -m 0644 $(BUILD_PUBKEY) \
		$(DESTDIR)$(PREFIX)/share/fastn/trusted-publishers/
endif
