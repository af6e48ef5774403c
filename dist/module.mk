# What an installation needs besides programs and libraries: the systemd
# units (dist/systemd/), the man pages (docs/man/*.scd, through scdoc),
# the shell completions (dist/completion/) and the system daemon's config.
# `make install` puts them under PREFIX (docs/SERVICE.md lists where);
# debian/ installs the same files through `make install PREFIX=/usr`.

BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
# /usr's config lives in /etc; any other prefix keeps its own etc/.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSTEMD_SYSTEM_DIR ?= $(PREFIX)/lib/systemd/system
SYSTEMD_USER_DIR ?= $(PREFIX)/lib/systemd/user
SYSUSERS_DIR ?= $(PREFIX)/lib/sysusers.d
BASH_COMPLETION_DIR ?= $(DATADIR)/bash-completion/completions
# Debian's zsh searches vendor-completions under /usr, site-functions
# under /usr/local.
ZSH_COMPLETION_DIR ?= $(DATADIR)/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)

# --- man pages: docs/man/NAME.SECTION.scd -> $(BUILD)/man/NAME.SECTION ----
MAN_SRCS := $(wildcard docs/man/*.scd)
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
SCDOC := $(shell command -v scdoc 2>/dev/null)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@

.PHONY: man install-dist
ifneq ($(SCDOC),)
man: $(MAN_PAGES)
ALL_EXTRA += $(MAN_PAGES)
else
man:
	@echo "man pages need scdoc: run scripts/install-deps.sh build" >&2
	@exit 1
$(info note: man pages are not built: no scdoc (scripts/install-deps.sh build))
endif

# sed for the units: where the programs and the config are installed.
DIST_SED := -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install: install-dist
install-dist: $(if $(SCDOC),$(MAN_PAGES))
	install -d $(DESTDIR)$(SYSTEMD_SYSTEM_DIR) $(DESTDIR)$(SYSTEMD_USER_DIR) \
		$(DESTDIR)$(SYSUSERS_DIR) $(DESTDIR)$(SYSCONFDIR)/fastn \
		$(DESTDIR)$(BASH_COMPLETION_DIR) $(DESTDIR)$(ZSH_COMPLETION_DIR)
	sed $(DIST_SED) dist/systemd/fastnd.service.in \
		>$(DESTDIR)$(SYSTEMD_SYSTEM_DIR)/fastnd.service
	install -m 0644 dist/systemd/fastnd.socket $(DESTDIR)$(SYSTEMD_SYSTEM_DIR)/
	sed $(DIST_SED) dist/systemd/fastnd-user.service.in \
		>$(DESTDIR)$(SYSTEMD_USER_DIR)/fastnd.service
	install -m 0644 dist/systemd/fastnd-user.socket \
		$(DESTDIR)$(SYSTEMD_USER_DIR)/fastnd.socket
	install -m 0644 dist/systemd/fastn.sysusers $(DESTDIR)$(SYSUSERS_DIR)/fastn.conf
	# the administrator's config is never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/fastn/fastnd.conf ] || install -m 0644 \
		dist/systemd/fastnd.conf $(DESTDIR)$(SYSCONFDIR)/fastn/fastnd.conf
	install -m 0644 dist/completion/fastn.bash $(DESTDIR)$(BASH_COMPLETION_DIR)/fastn
	install -m 0644 dist/completion/_fastn $(DESTDIR)$(ZSH_COMPLETION_DIR)/_fastn
	for m in $(if $(SCDOC),$(MAN_PAGES)) ""; do [ -n "$$m" ] || continue; \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done

# --- the Debian packages: fastn, libfastn0, libfastn-dev -----------------
# `make deb` builds them from a copy of the tree (tracked and new files,
# not the build output) with dpkg-buildpackage into $(BUILD)/deb/, then
# runs lintian on them (its report in $(BUILD)/deb/lintian.txt; an error
# fails the build). `make check-deb` installs them into this machine (as
# root), tries them and purges them (tests/package/deb.sh).
DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/fastn-p2p-$(VERSION)
.PHONY: deb check-deb
deb:
	@sh scripts/install-deps.sh deb
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	{ git ls-files -co --exclude-standard 2>/dev/null || \
		find . -path './build*' -prune -o -type f -print; } | \
		tar -cf - -T - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS="parallel=$(NPROC)" \
		dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	ls $(DEB_DIR)/*.deb
	lintian --pedantic --info --display-experimental --tag-display-limit 0 \
		$(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.txt 2>&1; rc=$$?; \
		cat $(DEB_DIR)/lintian.txt; exit $$rc
check-deb:
	bash tests/package/deb.sh $(DEB_DIR)
