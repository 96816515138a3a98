# hoursd - top-level Makefile.
#   make            build hoursd and its tools (hoursctl, termsim, policesim) into build/
#   make run        set up a local PostgreSQL, a dev PKI, and run hoursd with a demo terminal
#   make db         the demo's PostgreSQL (var/pg) again after make run, to explore; make db-stop
#   make check      every test: unit suites (plain and ASan+UBSan) and the integration suite,
#                   a few seconds of each fuzz harness and a short fault soak
#   make fuzz       each libFuzzer harness of fuzz/ for FUZZ_SECONDS (60; FUZZ=NAME... for some)
#   make fuzz-cov   the line coverage of jt808.c, jtx.c, sig.c that each harness's corpus reaches
#   make soak       the fault soak for SOAK_SECONDS (300): hoursd, PostgreSQL and policesim
#                   killed and failed under termsim's lessons, then the invariants checked
#   make cluster-check  the reference deployment (deploy/cluster/) under three kills
#   make bench-verify  hoursctl audit verify's records/s against one core's RSA-2048 verify
#                   limit (not a test)
#   make bench-conn idle terminals by the thousand: hoursd's memory per connection (not a test)
#   make bench-evidence PostgreSQL's CPU of the tamper evidence a record: 009's chain, 015's log
#   make install    PREFIX=/usr/local SYSCONFDIR= DATADIR= DESTDIR= (layout in README.md)
#   make format-check, make clean
# Sources: src/*.c the daemon (main.c its main(), the rest libhoursd.a),
# src/tools/ the tools, a folder each over src/tools/common/, each linking its
# own objects and the library; sql/queries/daemon/*.sql and
# sql/queries/hoursctl/*.sql the statements (those hoursd sends, the tools'
# own), compiled in (scripts/sql2c.sh).

PREFIX ?= /usr/local
# /usr is the system's own: its configuration lives in /etc, not /usr/etc.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR ?= $(PREFIX)/share
DESTDIR ?=
CC ?= cc

PKGS := libevent libevent_openssl openssl libpq jansson yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The teaching-log PDF (src/pdf/, include/teachlog.h): pango over cairo, compiled
# and linked only into the programs that make one (NAME_OBJS naming pdf/...),
# not into libhoursd.a, so the unit suites do not link them.
PDF_PKGS := pangocairo fontconfig
PDF_CFLAGS := $(shell pkg-config --cflags $(PDF_PKGS) 2>/dev/null)
PDF_LIBS := $(shell pkg-config --libs $(PDF_PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wvla -Wwrite-strings -Wundef -Wcast-align \
	-Wimplicit-fallthrough -Wno-unused-parameter
B := build
S := build/san
GEN := build/gen
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -I$(GEN) $(WARN) $(PKG_CFLAGS)
OPT_CFLAGS ?= -O2 -g
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

# The daemon's library, libhoursd.a: every src/*.c but its main, and the
# statements.  The programs and the unit tests link it.
MAINS := src/main.c
LIB_SRC := $(filter-out $(MAINS),$(wildcard src/*.c))
TEST_SRC := $(wildcard tests/check_*.c)
# The integration suite is one program, check_integration, of every
# tests/integration/*.c: the harness, main.c and a file a topic.
INTEG_SRC := $(wildcard tests/integration/*.c)
# Every statement is a file of sql/queries/daemon/ or sql/queries/hoursctl/,
# compiled in as sql_NAME with its columns' constants (queries.h).
QUERIES := $(sort $(wildcard sql/queries/daemon/*.sql sql/queries/hoursctl/*.sql))
HDRS := $(wildcard include/*.h) $(GEN)/queries.h
# The tools live in src/tools/, a folder a program (src/tools/NAME/) over
# their shared front-end code (src/tools/common/), as PostgreSQL's src/bin
# over src/fe_utils; they are not in the library, and include "common/X.h"
# (-Isrc/tools).  Each program links its own objects (NAME_OBJS: paths under
# src/, without .c) and what they use of libhoursd.a.
TOOL_HDRS := $(wildcard src/tools/*/*.h)
tool_objs = $(patsubst src/%.c,%,$(wildcard $(addsuffix /*.c,$(addprefix src/tools/,$(1)))))
hoursd_OBJS := main pdf/teachlog
hoursctl_OBJS := $(call tool_objs,hoursctl common) pdf/teachlog
termsim_OBJS := $(call tool_objs,termsim)
policesim_OBJS := $(call tool_objs,policesim)
idleterms_OBJS := $(call tool_objs,idleterms)

PROGS := hoursd hoursctl termsim policesim
TESTS := $(patsubst tests/%.c,%,$(TEST_SRC)) check_integration

all: $(addprefix $(B)/,$(PROGS))

define build_tree
# $(1) = build dir, $(2) = cflags, $(3) = ldflags, $(4) = compiler (default CC)
$(1)/obj/%.o: src/%.c $(HDRS) | $(1)/obj
	$$(or $(4),$$(CC)) $(2) -c $$< -o $$@
$(1)/obj/tools/%.o: src/tools/%.c $(HDRS) $(TOOL_HDRS)
	@mkdir -p $$(@D)
	$$(or $(4),$$(CC)) $(2) -Isrc/tools -c $$< -o $$@
$(1)/obj/pdf/%.o: src/pdf/%.c $(HDRS) | $(1)/obj/pdf
	$$(or $(4),$$(CC)) $(2) $$(PDF_CFLAGS) -c $$< -o $$@
$(1)/obj/tests/%.o: tests/%.c $(HDRS) $(wildcard tests/*.h) | $(1)/obj/tests
	$$(or $(4),$$(CC)) $(2) $$(CHECK_CFLAGS) -c $$< -o $$@
$(1)/obj/tests/integration/%.o: tests/integration/%.c $(HDRS) $(wildcard tests/integration/*.h) \
		| $(1)/obj/tests/integration
	$$(or $(4),$$(CC)) $(2) $$(CHECK_CFLAGS) -c $$< -o $$@
$(1)/obj/queries.o: $(GEN)/queries.c $(GEN)/queries.h | $(1)/obj
	$$(or $(4),$$(CC)) $(2) -c $$< -o $$@
# Remade when the Makefile changes too: a source moved out of it must leave it.
$(1)/libhoursd.a: $(patsubst src/%.c,$(1)/obj/%.o,$(LIB_SRC)) $(1)/obj/queries.o Makefile
	rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)
$(1)/tests/%: $(1)/obj/tests/%.o $(1)/libhoursd.a | $(1)/tests
	$$(or $(4),$$(CC)) $(3) -o $$@ $$^ $$(CHECK_LIBS) $$(PKG_LIBS) -lm
# policesim's national side, unit-tested apart from the daemon (it shares no code with it).
$(1)/tests/check_policesim: $(1)/obj/tests/check_policesim.o \
		$(1)/obj/tools/policesim/national.o $(1)/libhoursd.a | $(1)/tests
	$$(or $(4),$$(CC)) $(3) -o $$@ $$^ $$(CHECK_LIBS) $$(PKG_LIBS) -lm
$(1)/tests/check_integration: $(patsubst tests/%.c,$(1)/obj/tests/%.o,$(INTEG_SRC)) \
		$(1)/libhoursd.a | $(1)/tests
	$$(or $(4),$$(CC)) $(3) -o $$@ $$^ $$(CHECK_LIBS) $$(PKG_LIBS) -lm
$(1)/obj $(1)/obj/pdf $(1)/obj/tests $(1)/obj/tests/integration $(1)/tests:
	mkdir -p $$@
endef

$(GEN)/queries.c: $(QUERIES) scripts/sql2c.sh
	scripts/sql2c.sh $(GEN) $(QUERIES)
$(GEN)/queries.h: $(GEN)/queries.c ;

# The installed paths compiled in (HOURSD_SQLDIR), in build/gen/paths.h:
# rewritten on every make, but only when its text changes, so that
# `make && make install PREFIX=/usr` rebuilds what embeds /usr/local and
# nothing else.  Every source that includes "paths.h" depends on it.
PATHS_H = \#define HOURSD_SQLDIR "$(DATADIR)/hoursd/sql"
PATHS_USERS := $(patsubst src/%.c,%,$(shell grep -l '^\#include "paths.h"' src/*.c src/tools/*/*.c))
$(GEN)/paths.h: FORCE
	@mkdir -p $(GEN)
	@printf '/* generated by the Makefile from PREFIX and DATADIR */\n%s\n' '$(PATHS_H)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(foreach t,$(B) $(S),$(patsubst %,$(t)/obj/%.o,$(PATHS_USERS))): $(GEN)/paths.h
FORCE:

$(eval $(call build_tree,$(B),$(BASE_CFLAGS) $(OPT_CFLAGS),))
$(eval $(call build_tree,$(S),$(BASE_CFLAGS) $(SAN_FLAGS),$(SAN_FLAGS)))

# LDFLAGS (default empty): a packager's linker flags (debian/rules).
define link_prog
# $(1) = build dir, $(2) = program, $(3) = ldflags
$(1)/$(2): $(patsubst %,$(1)/obj/%.o,$($(2)_OBJS)) $(1)/libhoursd.a
	$$(CC) $(3) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $(if $(filter pdf/%,$($(2)_OBJS)),$$(PDF_LIBS)) -lm
endef

$(foreach p,$(PROGS),$(eval $(call link_prog,$(B),$(p),)))
$(foreach p,$(PROGS),$(eval $(call link_prog,$(S),$(p),$(SAN_FLAGS))))
# Only for make bench-conn: not installed.
$(eval $(call link_prog,$(B),idleterms,))

.PRECIOUS: $(B)/obj/%.o $(S)/obj/%.o $(B)/obj/tools/%.o $(S)/obj/tools/%.o \
	$(B)/obj/pdf/%.o $(S)/obj/pdf/%.o \
	$(B)/obj/tests/%.o $(S)/obj/tests/%.o

deps:
	@scripts/deps.sh

unit-tests: $(addprefix $(B)/tests/,$(TESTS)) $(addprefix $(S)/tests/,$(TESTS))

check: deps
	$(MAKE) all unit-tests $(addprefix $(S)/,$(PROGS)) fuzz-build
	scripts/run-tests.sh

run: deps
	$(MAKE) all
	scripts/run-demo.sh

# The demo's PostgreSQL (var/pg) started again after make run, to explore what
# it stored with hoursctl; make db-stop stops it.
db: deps
	@scripts/pg.sh start var/pg >/dev/null
	@echo "the demo database runs; for example:"
	@echo "  build/hoursctl -d \"$$(scripts/pg.sh conninfo var/pg)\" student list"
	@echo "  build/hoursctl -c var/hoursd.yaml findings --school DEMO0001"
	@echo "make db-stop stops it"

db-stop:
	scripts/pg.sh stop var/pg

bench: deps
	$(MAKE) all
	scripts/bench.sh

# The reference deployment under three kills (deploy/cluster/check.sh, docs/scaling.md).
cluster-check: deps
	deploy/cluster/deps.sh
	$(MAKE) all
	deploy/cluster/check.sh

# audit verify's records/s against one core's RSA-2048 verify limit (scripts/bench-verify.sh).
bench-verify: deps
	$(MAKE) all
	scripts/bench-verify.sh

bench-conn: deps
	$(MAKE) all $(B)/idleterms
	scripts/bench-conn.sh

# PostgreSQL's CPU of the tamper evidence alone: migration 009's chain against 015's log.
bench-evidence: deps
	$(MAKE) all
	scripts/bench-evidence.sh

# Fuzzing (docs/operations.md, "Fuzzing"): one libFuzzer harness a fuzz/*.c
# (but fuzz/mkseeds.c, which writes the seed corpora from the fixtures),
# built by clang against the library with ASan+UBSan in build/fuzz, and
# with coverage mapping in build/fuzzcov (make fuzz-cov).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ ?=
F := build/fuzz
FC := build/fuzzcov
FUZZ_NAMES := $(filter-out mkseeds,$(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c)))
# clang's -Wcast-align warns on every target (gcc's only where alignment traps):
# the library's casts of offsetof'd key table fields are fine on this one.
FUZZ_CFLAGS := $(BASE_CFLAGS) -Wno-cast-align
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_COV := -O1 -g -fprofile-instr-generate -fcoverage-mapping
$(eval $(call build_tree,$(F),$(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link,$(FUZZ_SAN),$(FUZZ_CC)))
$(eval $(call build_tree,$(FC),$(FUZZ_CFLAGS) $(FUZZ_COV),$(FUZZ_COV),$(FUZZ_CC)))
define fuzz_harness
# $(1) = build dir, $(2) = cflags
$(1)/obj/fuzz/%.o: fuzz/%.c $(HDRS) $(wildcard fuzz/*.h) $(TOOL_HDRS) | $(1)/obj/fuzz
	$(FUZZ_CC) $(2) -Ifuzz -Isrc/tools -c $$< -o $$@
$(1)/obj/fuzz:
	mkdir -p $$@
$(foreach h,$(FUZZ_NAMES),$(1)/$(h)): $(1)/%: $(1)/obj/fuzz/%.o $(1)/libhoursd.a
	$(FUZZ_CC) $(2) -fsanitize=fuzzer -o $$@ $$(filter %.o,$$^) $$(filter %.a,$$^) \
		$$(PKG_LIBS) -lm
# The tools' objects a harness reads besides the library.
$(1)/imports: $(patsubst %,$(1)/obj/tools/%.o,hoursctl/students hoursctl/schedule hoursctl/forms \
	hoursctl/backfill hoursctl/check common/csv common/pgq common/cfg common/progress common/out)
endef
$(eval $(call fuzz_harness,$(F),$(FUZZ_CFLAGS) $(FUZZ_SAN)))
$(eval $(call fuzz_harness,$(FC),$(FUZZ_CFLAGS) $(FUZZ_COV)))
$(F)/mkseeds: $(B)/obj/fuzz/mkseeds.o $(B)/libhoursd.a | $(F)/obj
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
$(B)/obj/fuzz/mkseeds.o: fuzz/mkseeds.c $(HDRS) | $(B)/obj/fuzz
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -c $< -o $@
$(B)/obj/fuzz:
	mkdir -p $@
.PRECIOUS: $(F)/obj/fuzz/%.o $(FC)/obj/fuzz/%.o

fuzz-build: $(addprefix $(F)/,$(FUZZ_NAMES) mkseeds)

fuzz: deps
	$(MAKE) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ)

fuzz-cov: deps
	$(MAKE) fuzz-build $(addprefix $(FC)/,$(FUZZ_NAMES))
	scripts/fuzz-cov.sh $(FUZZ)

SOAK_SECONDS ?= 300
soak: deps
	$(MAKE) all
	SOAK_SECONDS=$(SOAK_SECONDS) scripts/soak.sh

# The layout (README.md, "Other targets"; docs/operations.md): the daemon
# and hoursd-setup in PREFIX/sbin, hoursctl in PREFIX/bin, termsim and
# policesim apart in PREFIX/lib/hoursd, the configuration in
# SYSCONFDIR/hoursd (conf/hoursd.yaml with the installed paths,
# deploy/hoursd.yaml.sed), migrations, the Prometheus rules and the Grafana
# dashboard, docs and man pages under DATADIR; the unit's, tmpfiles', the
# setup's and the man pages' paths rewritten to match.
BINDIR := $(PREFIX)/bin
SBINDIR := $(PREFIX)/sbin
TOOLDIR := $(PREFIX)/lib/hoursd
UNITDIR := $(PREFIX)/lib/systemd/system
MAN1 := man/termsim.1
MAN8 := man/hoursd.8 man/hoursctl.8 man/hoursd-setup.8
MAN5 := man/hoursd.yaml.5
DEPLOY_SED := sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
	-e 's|/etc/hoursd|$(SYSCONFDIR)/hoursd|g' -e 's|/usr/local/share/|$(DATADIR)/|g' \
	-e 's|^SYSCONFDIR=/etc$$|SYSCONFDIR=$(SYSCONFDIR)|'
MAN_SED := sed -e 's|SYSCONFDIR/|$(SYSCONFDIR)/|g' -e 's|DATADIR/|$(DATADIR)/|g' \
	-e 's|TOOLDIR/|$(TOOLDIR)/|g'
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(TOOLDIR) \
		$(DESTDIR)$(DATADIR)/hoursd/sql $(DESTDIR)$(DATADIR)/hoursd/prometheus \
		$(DESTDIR)$(DATADIR)/hoursd/grafana \
		$(DESTDIR)$(DATADIR)/doc/hoursd $(DESTDIR)$(SYSCONFDIR)/hoursd \
		$(DESTDIR)$(DATADIR)/man/man1 $(DESTDIR)$(DATADIR)/man/man8 $(DESTDIR)$(DATADIR)/man/man5
	install -m 755 $(B)/hoursd $(DESTDIR)$(SBINDIR)/
	install -m 755 $(B)/hoursctl $(DESTDIR)$(BINDIR)/
	$(DEPLOY_SED) deploy/hoursd-setup >$(DESTDIR)$(SBINDIR)/hoursd-setup
	chmod 755 $(DESTDIR)$(SBINDIR)/hoursd-setup
	install -m 755 $(B)/termsim $(B)/policesim $(DESTDIR)$(TOOLDIR)/
	install -m 644 sql/*.sql $(DESTDIR)$(DATADIR)/hoursd/sql/
	install -m 644 deploy/prometheus/hoursd-rules.yml $(DESTDIR)$(DATADIR)/hoursd/prometheus/
	install -m 644 deploy/grafana/hoursd.json $(DESTDIR)$(DATADIR)/hoursd/grafana/
	sed -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' deploy/hoursd.yaml.sed | sed -f - conf/hoursd.yaml \
		>$(DESTDIR)$(SYSCONFDIR)/hoursd/hoursd.yaml.sample
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/hoursd/hoursd.yaml.sample
	install -m 644 conf/syllabus.yaml $(DESTDIR)$(SYSCONFDIR)/hoursd/syllabus.yaml.sample
	install -m 644 README.md docs/*.md $(DESTDIR)$(DATADIR)/doc/hoursd/
	install -d $(DESTDIR)$(DATADIR)/doc/hoursd/zh-CN
	install -m 644 docs/zh-CN/*.md $(DESTDIR)$(DATADIR)/doc/hoursd/zh-CN/
	for m in $(MAN1) $(MAN8) $(MAN5); do \
		s=$${m##*.}; $(MAN_SED) $$m >$(DESTDIR)$(DATADIR)/man/man$$s/$${m##*/} && \
		chmod 644 $(DESTDIR)$(DATADIR)/man/man$$s/$${m##*/} || exit 1; \
	done
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	$(DEPLOY_SED) deploy/hoursd.service >$(DESTDIR)$(UNITDIR)/hoursd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/hoursd.service
	install -m 644 deploy/hoursd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/hoursd.conf
	$(DEPLOY_SED) deploy/hoursd.tmpfiles >$(DESTDIR)$(PREFIX)/lib/tmpfiles.d/hoursd.conf
	chmod 644 $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/hoursd.conf

FORMAT_FILES = $(wildcard src/*.c src/pdf/*.c src/tools/*/*.c src/tools/*/*.h include/*.h \
	tests/*.c tests/*.h tests/integration/*.c tests/integration/*.h fuzz/*.c fuzz/*.h)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(B)

.PHONY: all deps unit-tests check run db db-stop bench bench-verify bench-conn bench-evidence cluster-check install format format-check \
	clean FORCE fuzz-build fuzz fuzz-cov soak
