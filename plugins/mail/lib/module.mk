# plugins/mail/lib: the mail plugin's core (addresses, the SMTP submission
# state machine, the IMAP4rev1 command parser and response formatter, the
# RFC 5322/MIME reader behind ENVELOPE and BODYSTRUCTURE, the mailbox
# model over the plugin SQL ABI), portable C without I/O, built twice:
#   natively  $(BUILD)/libfastn-mail.a, with sql_native.c (the fastn_sql_*
#             calls of include/fastn/plugin.h over a real sqlite3
#             database), for the unit tests (tests/unit/test_mail_*.c)
#             and the fuzz targets (fuzz/fuzz_mail_*.c);
#   wasm32    $(BUILD)/wasm/mail/*.o (MAIL_WASM_OBJS), without
#             sql_native.c: in the plugin the fastn_sql_* calls are the
#             host's imports. tests/mail/wasm_selftest.c links them (but
#             store.c) into a wasi command that
#             tests/integration/mail_wasm.sh runs on fastn-wasm.
# Included from plugins/module.mk (which builds only plugins/NAME/*.c, so
# nothing here becomes a plugin by itself).
MAIL_LIB_DIR := plugins/mail/lib
MAIL_LIB_SRCS := $(filter-out $(MAIL_LIB_DIR)/sql_native.c,\
	$(wildcard $(MAIL_LIB_DIR)/*.c))
MAIL_LIB := $(BUILD)/libfastn-mail.a
$(MAIL_LIB): $(call obj,$(MAIL_LIB_SRCS) $(MAIL_LIB_DIR)/sql_native.c)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
ALL_EXTRA += $(MAIL_LIB)

MAIL_CPPFLAGS := -I$(MAIL_LIB_DIR)
$(BUILD)/obj/tests/unit/test_mail_%.o: ALL_CPPFLAGS += $(MAIL_CPPFLAGS)
$(BUILD)/obj/fuzz/fuzz_mail_%.o: ALL_CPPFLAGS += $(MAIL_CPPFLAGS)

# Unit tests and fuzz targets link the library before libfastn-core, which
# sql_native.c calls (src/store) and the address tests compare against
# (src/util/peer_id.c): their own rules, for that order.
MAIL_UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,\
	$(wildcard tests/unit/test_mail_*.c))
$(MAIL_UNIT_BINS): $(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o \
		$(MAIL_LIB) $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
MAIL_FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_mail_*.c))
MAIL_REPLAY_BINS := $(patsubst %,$(BUILD)/fuzz/replay_%,$(MAIL_FUZZ_NAMES))
MAIL_FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(MAIL_FUZZ_NAMES))
$(MAIL_REPLAY_BINS): $(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o \
		$(BUILD)/obj/fuzz/replay_main.o $(MAIL_LIB) $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
$(MAIL_FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o \
		$(MAIL_LIB) $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LIBS)

# The same sources for wasm32-wasi, -Werror, and a wasi command over them.
ifeq ($(WASM_TOOLCHAIN),yes)
MAIL_WASM_CFLAGS := --target=wasm32-wasi -std=c11 -Wall -Wextra -Werror \
	-Iinclude -I$(MAIL_LIB_DIR) $(WASM_CFLAGS)
MAIL_WASM_OBJS := $(patsubst $(MAIL_LIB_DIR)/%.c,$(BUILD)/wasm/mail/%.o,\
	$(MAIL_LIB_SRCS))
$(BUILD)/wasm/mail/%.o: $(MAIL_LIB_DIR)/%.c $(wildcard $(MAIL_LIB_DIR)/*.h) \
		include/fastn/err.h include/fastn/plugin.h
	@mkdir -p $(dir $@)
	$(WASM_CC) $(MAIL_WASM_CFLAGS) -c $< -o $@
# a wasi command over them (store.c needs the host's SQL imports: it is
# tested natively over the host's own code), for tests/integration/mail_wasm.sh
MAIL_WASM_SELFTEST := $(BUILD)/wasm/mail/selftest.wasm
$(MAIL_WASM_SELFTEST): tests/mail/wasm_selftest.c \
		$(filter-out %/store.o,$(MAIL_WASM_OBJS))
	$(WASM_CC) $(MAIL_WASM_CFLAGS) -Wl,-z,stack-size=65536 -o $@ $^
ALL_EXTRA += $(MAIL_WASM_OBJS) $(MAIL_WASM_SELFTEST)
endif
