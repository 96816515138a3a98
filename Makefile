# hoursd - top-level Makefile.
#   make            build hoursd and its tools (hoursctl, termsim, policesim) into build/
#   make run        set up a local PostgreSQL, a dev PKI, and run hoursd with a demo terminal
#   make check      every test: unit suites (plain and ASan+UBSan) and the integration suite
#   make install    PREFIX=/usr/local DESTDIR=
#   make format-check, make clean
# Sources: src/*.c the daemon (its main hoursd.c, the rest libhoursd.a),
# src/tools/ the tools, each linking its own objects and the library;
# sql/queries/*.sql the statements, compiled in (scripts/sql2c.sh).

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc

PKGS := libevent libevent_openssl openssl libpq jansson yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wvla -Wwrite-strings -Wundef -Wcast-align \
	-Wimplicit-fallthrough -Wno-unused-parameter
B := build
S := build/san
GEN := build/gen
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -I$(GEN) $(WARN) $(PKG_CFLAGS) \
	-DHOURSD_SQLDIR='"$(PREFIX)/share/hoursd/sql"'
OPT_CFLAGS ?= -O2 -g
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

# The daemon's library, libhoursd.a: every src/*.c but its main, and the
# statements.  The programs and the unit tests link it.
MAINS := src/hoursd.c
LIB_SRC := $(filter-out $(MAINS),$(wildcard src/*.c))
TEST_SRC := $(wildcard tests/check_*.c)
# Every statement is a file of sql/queries/, compiled in as sql_NAME (queries.h).
QUERIES := $(sort $(wildcard sql/queries/*.sql))
HDRS := $(wildcard include/*.h) $(GEN)/queries.h
# The tools live in src/tools/, with their own headers, and are not in the
# library.  Each program links its own objects (NAME_OBJS: paths under src/,
# without .c) and what they use of libhoursd.a.
TOOL_HDRS := $(wildcard src/tools/*.h)
hoursd_OBJS := hoursd
hoursctl_OBJS := tools/hoursctl tools/audit
termsim_OBJS := tools/termsim tools/termsim_timing tools/termsim_lesson
policesim_OBJS := tools/policesim

PROGS := hoursd hoursctl termsim policesim
TESTS := $(patsubst tests/%.c,%,$(TEST_SRC))

all: $(addprefix $(B)/,$(PROGS))

define build_tree
# $(1) = build dir, $(2) = cflags, $(3) = ldflags
$(1)/obj/%.o: src/%.c $(HDRS) | $(1)/obj
	$$(CC) $(2) -c $$< -o $$@
$(1)/obj/tools/%.o: src/tools/%.c $(HDRS) $(TOOL_HDRS) | $(1)/obj/tools
	$$(CC) $(2) -c $$< -o $$@
$(1)/obj/tests/%.o: tests/%.c $(HDRS) $(wildcard tests/*.h) | $(1)/obj/tests
	$$(CC) $(2) $$(CHECK_CFLAGS) -c $$< -o $$@
$(1)/obj/queries.o: $(GEN)/queries.c $(GEN)/queries.h | $(1)/obj
	$$(CC) $(2) -c $$< -o $$@
# Remade when the Makefile changes too: a source moved out of it must leave it.
$(1)/libhoursd.a: $(patsubst src/%.c,$(1)/obj/%.o,$(LIB_SRC)) $(1)/obj/queries.o Makefile
	rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)
$(1)/tests/%: $(1)/obj/tests/%.o $(1)/libhoursd.a | $(1)/tests
	$$(CC) $(3) -o $$@ $$^ $$(CHECK_LIBS) $$(PKG_LIBS) -lm
$(1)/obj $(1)/obj/tools $(1)/obj/tests $(1)/tests:
	mkdir -p $$@
endef

$(GEN)/queries.c: $(QUERIES) scripts/sql2c.sh
	scripts/sql2c.sh $(GEN) $(QUERIES)
$(GEN)/queries.h: $(GEN)/queries.c ;

$(eval $(call build_tree,$(B),$(BASE_CFLAGS) $(OPT_CFLAGS),))
$(eval $(call build_tree,$(S),$(BASE_CFLAGS) $(SAN_FLAGS),$(SAN_FLAGS)))

define link_prog
# $(1) = build dir, $(2) = program, $(3) = ldflags
$(1)/$(2): $(patsubst %,$(1)/obj/%.o,$($(2)_OBJS)) $(1)/libhoursd.a
	$$(CC) $(3) -o $$@ $$^ $$(PKG_LIBS) -lm
endef

$(foreach p,$(PROGS),$(eval $(call link_prog,$(B),$(p),)))
$(foreach p,$(PROGS),$(eval $(call link_prog,$(S),$(p),$(SAN_FLAGS))))

.PRECIOUS: $(B)/obj/%.o $(S)/obj/%.o $(B)/obj/tools/%.o $(S)/obj/tools/%.o \
	$(B)/obj/tests/%.o $(S)/obj/tests/%.o

deps:
	@scripts/deps.sh

unit-tests: $(addprefix $(B)/tests/,$(TESTS)) $(addprefix $(S)/tests/,$(TESTS))

check: deps
	$(MAKE) all unit-tests $(addprefix $(S)/,$(PROGS))
	scripts/run-tests.sh

run: deps
	$(MAKE) all
	scripts/run-demo.sh

bench: deps
	$(MAKE) all
	scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/hoursd/sql \
		$(DESTDIR)$(PREFIX)/share/doc/hoursd $(DESTDIR)$(PREFIX)/etc/hoursd
	install -m 755 $(addprefix $(B)/,$(PROGS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 sql/*.sql $(DESTDIR)$(PREFIX)/share/hoursd/sql/
	install -m 644 conf/hoursd.yaml $(DESTDIR)$(PREFIX)/etc/hoursd/hoursd.yaml.sample
	install -m 644 conf/syllabus.yaml $(DESTDIR)$(PREFIX)/etc/hoursd/syllabus.yaml.sample
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/hoursd/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	sed 's|/usr/local/|$(PREFIX)/|g' deploy/hoursd.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/hoursd.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/hoursd.service
	install -m 644 deploy/hoursd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/hoursd.conf
	install -m 644 deploy/hoursd.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/hoursd.conf

FORMAT_FILES = $(wildcard src/*.c src/tools/*.c src/tools/*.h include/*.h tests/*.c tests/*.h)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(B)

.PHONY: all deps unit-tests check run bench install format format-check clean
