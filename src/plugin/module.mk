# src/plugin: the plugin host, and the plugin developer kit:
#   - the plugin test library (kit*.c, include/fastn/plugin_test.h),
#     part of libfastn-core and installed as libfastn-plugin-test.a with
#     pkg-config fastn-plugin-test;
#   - fastn-plugin-kit (kit_tool*.c), the program behind `fastn plugin run`
#     and `fastn plugin new`, installed in PREFIX/lib/fastn (fastn execs
#     it: the CLI itself stays a thin client without the host, the engine
#     and SQLite); the templates of `plugin new` (plugins/templates/) are
#     embedded in it.
KIT_TOOL_SRCS := $(wildcard src/plugin/kit_tool*.c)
KIT_TOOL := $(BUILD)/bin/fastn-plugin-kit
KIT_TEST_LIB := $(BUILD)/libfastn-plugin-test.a
KIT_TEMPLATES := $(patsubst plugins/templates/%,%,\
	$(wildcard plugins/templates/*/*))
KIT_TEMPLATES_C := $(BUILD)/gen/plugin/kit_templates.c
CORE_OBJS := $(filter-out $(call obj,$(KIT_TOOL_SRCS)),$(CORE_OBJS))

$(KIT_TEMPLATES_C): src/plugin/embed.sh $(addprefix plugins/templates/,\
		$(KIT_TEMPLATES))
	@mkdir -p $(dir $@)
	sh src/plugin/embed.sh $@ plugins/templates $(KIT_TEMPLATES)
$(KIT_TOOL): $(call obj,$(KIT_TOOL_SRCS) $(KIT_TEMPLATES_C)) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
# the library a plugin's tests link: the host and what it needs, that is
# libfastn-core (the library's own objects are part of it)
$(KIT_TEST_LIB): $(CORE_LIB)
	cp $(CORE_LIB) $@
ALL_EXTRA += $(KIT_TOOL) $(KIT_TEST_LIB)

.PHONY: install-plugin-kit
install: install-plugin-kit
install-plugin-kit: $(KIT_TOOL) $(KIT_TEST_LIB)
	install -d $(DESTDIR)$(PREFIX)/lib/fastn $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 0755 $(KIT_TOOL) $(DESTDIR)$(PREFIX)/lib/fastn/
	install -m 0644 $(KIT_TEST_LIB) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|' \
		-e 's|@LIBS@|$(strip $(LIBS))|' src/plugin/fastn-plugin-test.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/fastn-plugin-test.pc
