# src/registry: minisign signatures, trusted publisher keys, registry
# indexes, fetching with libcurl (only fetch.c calls it; only
# sign_crypto.c calls libsodium) and the /fastn/plugin/1.0.0 messages.
REGISTRY_CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
REGISTRY_CURL_LIBS := $(shell pkg-config --libs libcurl 2>/dev/null)
ifeq ($(REGISTRY_CURL_LIBS),)
$(warning libcurl not found (Debian: libcurl4-openssl-dev, see scripts/install-deps.sh))
endif
ALL_CPPFLAGS += $(REGISTRY_CURL_CFLAGS)
LIBS += $(REGISTRY_CURL_LIBS)

# fastn-registry-build (src/registry/build_tool.c): writes a folder's
# index.json; a program of its own, so not part of libfastn-core.
REGISTRY_TOOL_MAIN := src/registry/build_tool.c
REGISTRY_TOOL := $(BUILD)/bin/fastn-registry-build
CORE_OBJS := $(filter-out $(call obj,$(REGISTRY_TOOL_MAIN)),$(CORE_OBJS))
$(REGISTRY_TOOL): $(call obj,$(REGISTRY_TOOL_MAIN)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
ALL_EXTRA += $(REGISTRY_TOOL)
