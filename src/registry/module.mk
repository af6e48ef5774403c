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
