# fastn-p2p: GNU make + pkg-config, one non-recursive build.
#
#   make            build fastnd, fastn, fastn-wasm, libfastn (and plugins)
#   make test       install missing packages, build, run every test
#   make demo       install missing packages, build, show the main job
#   make check      run the tests of an existing build
#   make test-build build what the tests need without running them
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make SAN=1      build with AddressSanitizer + UBSan (into build-san/)
#   make format     apply .clang-format;  make format-check: verify it
#
# Subsystems add to the build in src/<sub>/module.mk (and plugins/, bench/,
# tests/, fuzz/ their own module.mk), so that adding code rarely touches
# this file.

VERSION := 0.1.0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
SAN ?=
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS :=
endif

PKGS := libsodium libuv libprotobuf-c sqlite3 jansson libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CLIENT_PKG_LIBS := $(shell pkg-config --libs libprotobuf-c 2>/dev/null)
CLI_PKG_LIBS := $(shell pkg-config --libs jansson 2>/dev/null)

CFLAGS ?= -O2 -g
WARNFLAGS := -std=c11 -Wall -Wextra -Werror
ALL_CPPFLAGS := -D_GNU_SOURCE -DFASTN_VERSION='"$(VERSION)"' -Iinclude -Isrc \
	-I$(BUILD)/gen $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS := $(WARNFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lm -lpthread

# Program entry points; everything else under src/ is library code.
FASTND_MAIN := src/daemon/main.c
FASTN_WASM_MAIN := src/wasm/main.c
CLI_SRCS := $(wildcard src/cli/*.c)
# fastn validates `fastn config set` with the daemon's own parser
CLI_DAEMON_SRCS := src/daemon/config.c src/plugin/addr.c
CLIENT_SRCS := $(wildcard src/lib/*.c) $(wildcard src/util/*.c)

PROTOS := $(wildcard src/*/*.proto)
GEN_SRCS := $(patsubst src/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_HDRS := $(GEN_SRCS:.c=.h)

ALL_SRC := $(wildcard src/*/*.c src/*/*/*.c)
CORE_SRCS := $(filter-out $(FASTND_MAIN) $(FASTN_WASM_MAIN) $(CLI_SRCS) \
	$(wildcard src/lib/*.c),$(ALL_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(patsubst $(BUILD)/%,%,$(1)))
picobj = $(patsubst %.c,$(BUILD)/pic/%.o,$(patsubst $(BUILD)/%,%,$(1)))

CORE_OBJS := $(call obj,$(CORE_SRCS) $(GEN_SRCS))
CLIENT_OBJS := $(call obj,$(CLIENT_SRCS) $(GEN_SRCS))
CLIENT_PIC_OBJS := $(call picobj,$(CLIENT_SRCS) $(GEN_SRCS))

CORE_LIB := $(BUILD)/libfastn-core.a
CLIENT_LIB := $(BUILD)/libfastn.a
CLIENT_SO := $(BUILD)/libfastn.so.0
FASTND := $(BUILD)/bin/fastnd
FASTN := $(BUILD)/bin/fastn
FASTN_WASM := $(BUILD)/bin/fastn-wasm

PROGRAMS := $(FASTND) $(FASTN) $(if $(wildcard $(FASTN_WASM_MAIN)),$(FASTN_WASM))
# Extra targets that modules add to `make` and to what tests need.
ALL_EXTRA :=
TEST_DEPS :=

.SECONDARY:
.DELETE_ON_ERROR:
.PHONY: all test check check-unit demo deps deps-build install format \
	format-check clean spec fuzz bench test-build
all: $(PROGRAMS) $(CLIENT_LIB) $(CLIENT_SO)

-include $(wildcard src/*/module.mk plugins/module.mk tests/*/module.mk \
	fuzz/module.mk bench/*/module.mk dist/module.mk)

all: $(ALL_EXTRA)

# --- generated code -------------------------------------------------------
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: src/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=src --c_out=$(BUILD)/gen $<

# --- objects --------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/pic/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@
$(BUILD)/pic/gen/%.o: $(BUILD)/gen/%.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# --- libraries and programs ----------------------------------------------
$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(CLIENT_LIB): $(CLIENT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(CLIENT_SO): $(CLIENT_PIC_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libfastn.so.0 $(ALL_LDFLAGS) $^ -o $@ \
		$(CLIENT_PKG_LIBS)
	ln -sf libfastn.so.0 $(BUILD)/libfastn.so

$(FASTND): $(call obj,$(FASTND_MAIN)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
$(FASTN): $(call obj,$(CLI_SRCS) $(CLI_DAEMON_SRCS)) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(CLIENT_PKG_LIBS) $(CLI_PKG_LIBS)
$(FASTN_WASM): $(call obj,$(FASTN_WASM_MAIN)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)

# --- unit tests: tests/unit/test_*.c, one program each --------------------
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)

# the CLI's modules (all but its main) in its unit test and fuzz target
CLI_TEST_OBJS := $(call obj,$(filter-out src/cli/main.c,$(CLI_SRCS)) \
	$(CLI_DAEMON_SRCS))
$(BUILD)/tests/unit/test_cli: $(BUILD)/obj/tests/unit/test_cli.o \
		$(CLI_TEST_OBJS) $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
$(BUILD)/fuzz/replay_cli_text: $(BUILD)/obj/fuzz/fuzz_cli_text.o \
		$(BUILD)/obj/fuzz/replay_main.o $(CLI_TEST_OBJS) $(CORE_LIB) \
		$(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
$(BUILD)/fuzz/fuzz_cli_text: $(BUILD)/obj/fuzz/fuzz_cli_text.o \
		$(CLI_TEST_OBJS) $(CORE_LIB) $(CLIENT_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LIBS)

# --- integration helpers: tests/integration/*.c, one program each ---------
ITEST_SRCS := $(wildcard tests/integration/*.c)
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(ITEST_SRCS))
$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(CLIENT_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)

TEST_DEPS += all $(UNIT_BINS) $(ITEST_BINS)

# --- entry points ---------------------------------------------------------
deps:
	@sh scripts/install-deps.sh all
deps-build:
	@sh scripts/install-deps.sh build

NPROC := $(shell nproc 2>/dev/null || echo 2)
test: deps
	$(MAKE) -j$(NPROC) $(TEST_DEPS)
	$(MAKE) check

check: $(TEST_DEPS)
	@BUILD=$(BUILD) SAN=$(SAN) sh tests/run.sh

# everything `make check` runs, built and not run (CI's clang build)
test-build: $(TEST_DEPS)

demo: deps
	$(MAKE) -j$(NPROC) all
	@BUILD=$(BUILD) sh scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/fastn
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(CLIENT_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(CLIENT_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libfastn.so.0 $(DESTDIR)$(LIBDIR)/libfastn.so
	install -m 0644 include/fastn/*.h $(DESTDIR)$(PREFIX)/include/fastn/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|' \
		fastn.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/fastn.pc

# tracked files and new ones not yet added (not the ignored build output)
FORMAT_FILES = $(wildcard $(shell git ls-files --cached --others \
	--exclude-standard '*.c' '*.h' 2>/dev/null))
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/pic -name '*.d' 2>/dev/null)
