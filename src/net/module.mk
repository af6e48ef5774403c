# src/net: the Noise transport cipher (ChaCha20-Poly1305) comes from
# OpenSSL's libcrypto when pkg-config finds it (Debian: libssl-dev), else
# from libsodium like the rest of Noise. It is ~2.3x as fast here (AVX-512)
# and decides one stream's throughput; scripts/install-deps.sh installs it.
# `make NOISE_CIPHER=sodium` forces libsodium (CI's sanitizer run does, so
# both are tested). Only src/net/noise_crypto.c calls either library.
NOISE_CIPHER ?= $(if $(shell pkg-config --exists libcrypto && echo y),openssl,sodium-fallback)
ifeq ($(NOISE_CIPHER),sodium-fallback)
$(warning libcrypto not found (Debian: libssl-dev, see scripts/install-deps.sh): the Noise cipher uses libsodium, about half as fast)
NOISE_CIPHER := sodium
endif
ifeq ($(NOISE_CIPHER),openssl)
ALL_CPPFLAGS += -DFASTN_NOISE_OPENSSL $(shell pkg-config --cflags libcrypto)
LIBS += $(shell pkg-config --libs libcrypto)
endif
# libcrypto also checks the identity keys of peers that use RSA,
# Secp256k1 or ECDSA (src/net/peer_key.c), whichever cipher Noise uses;
# without it those peers are refused as unsupported.
ifneq ($(shell pkg-config --exists libcrypto && echo y),)
ALL_CPPFLAGS += -DFASTN_HAVE_LIBCRYPTO
ifneq ($(NOISE_CIPHER),openssl)
ALL_CPPFLAGS += $(shell pkg-config --cflags libcrypto)
LIBS += $(shell pkg-config --libs libcrypto)
endif
endif
# libresolv: the TXT lookups of /dnsaddr addresses (src/net/dnsaddr.c)
LIBS += -lresolv
# noise_crypto.o is rebuilt when the choice changes
NOISE_STAMP := $(BUILD)/noise-cipher
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(NOISE_STAMP) 2>/dev/null)" = "$(NOISE_CIPHER)" ] || echo $(NOISE_CIPHER) >$(NOISE_STAMP); })
$(call obj,src/net/noise_crypto.c): $(NOISE_STAMP)
