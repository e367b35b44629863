# IPOP-C: one plain make.  Objects and generated code live in build/.
# `make help` lists the targets.

VERSION   := 0.1.0
CC        ?= cc
BUILD     ?= build
PKGS      := glib-2.0 nice libsodium gnutls libprotobuf-c libstrophe yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS   := $(shell pkg-config --libs check)

WARN := -std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	-Wcast-qual -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings \
	-Wvla -Wimplicit-fallthrough
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
OPT    ?= -O2 -g
ifeq ($(CI),true)
WARN += -Werror
endif

CFLAGS_ALL := $(OPT) $(WARN) $(HARDEN) -D_GNU_SOURCE -I. -isystem $(BUILD) -DIPOP_VERSION=\"$(VERSION)\" \
	$(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS_ALL := $(PKG_LIBS) -lpthread

ifneq ($(V),1)
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

PROTO_C  := $(BUILD)/proto/ipop.pb-c.c
# One archive per layer (../shared/DESIGN.md; test/check-layers enforces the
# include rules): a program links only the layers it may use.
PROTO_SRC      := $(wildcard proto/*.c)
COMMON_SRC     := $(wildcard common/*.c)
TINCAN_SRC     := $(filter-out tincan/main.c,$(wildcard tincan/*.c))
CONTROLLER_SRC := $(filter-out controller/main.c,$(wildcard controller/*.c))
IPOPCTL_SRC    := $(wildcard tools/ipopctl/*.c) $(wildcard tools/ipopctl.c)
# The GroupVPN simulator: common's topology and ring only.
GVPN_SIM_SRC   := $(wildcard tools/gvpn-sim/*.c)
LIB_SRC  := $(PROTO_SRC) $(COMMON_SRC) $(TINCAN_SRC) $(CONTROLLER_SRC)
objs = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_PROTO      := $(BUILD)/libipop-proto.a
LIB_COMMON     := $(BUILD)/libipop-common.a
LIB_TINCAN     := $(BUILD)/libipop-tincan.a
LIB_CONTROLLER := $(BUILD)/libipop-controller.a
# Link order: a layer before the layers it uses.
LIBS_TINCAN     := $(LIB_TINCAN) $(LIB_COMMON) $(LIB_PROTO)
LIBS_CONTROLLER := $(LIB_CONTROLLER) $(LIB_COMMON) $(LIB_PROTO)
LIBS_IPOPCTL    := $(LIB_COMMON) $(LIB_PROTO)
LIBS_EVERY      := $(LIB_CONTROLLER) $(LIB_TINCAN) $(LIB_COMMON) $(LIB_PROTO)
UNIT_SRC := $(wildcard test/unit/*.c)
UNIT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRC))
# Every test/fuzz/fuzz_*.c is a harness: libFuzzer builds (make fuzz) and a
# gcc build of each with test/fuzz/replay.c, which test/run-all runs over
# test/fuzz/corpus/<harness>/.
FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst test/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_REPLAY := $(patsubst %,$(BUILD)/fuzz-replay/%,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 30
CHECKED_SRC := $(LIB_SRC) tincan/main.c controller/main.c $(IPOPCTL_SRC) $(GVPN_SIM_SRC)
CHECKED_HDR := $(wildcard common/*.h proto/*.h tincan/*.h controller/*.h tools/ipopctl/*.h)

# Targets that need root (namespaces, TAP devices, packages) run through
# this: directly as root, through sudo otherwise (README's commands are the
# same on both kinds of machine).
AS_ROOT := tools/as-root

BINS := $(BUILD)/ipop-tincan $(BUILD)/ipop-controller $(BUILD)/ipopctl
GVPN_SIM := $(BUILD)/gvpn-sim

.PHONY: all help gvpn-sim bench-gvpn python-proto test unit e2e sanitize fuzz fuzz-replay fuzz-run fuzz-seeds analyze format-check clean deps demo demo-tincan bench install
# The attacker of test/e2e/attacker.sh (never installed).
FLOOD := $(BUILD)/ipop-flood
all: $(BINS) $(FLOOD) $(GVPN_SIM)

help:
	@echo "make              build ipop-tincan and ipopctl into $(BUILD)/"
	@echo "make test         unit tests, then end-to-end tests (root; namespaces)"
	@echo "make unit         unit tests only (no root needed)"
	@echo "make python-proto Python classes from proto/ipop.proto (examples/static-mesh)"
	@echo "make e2e          end-to-end tests only"
	@echo "make demo         the demo: Prosody + coturn, a GroupVPN across NATs, status and pings"
	@echo "make demo-tincan  two NATed tincans wired by ipopctl alone (no controller)"
	@echo "make bench       throughput/latency table vs fastd and tinc (root; BENCH_ARGS=--quick)"
	@echo "make bench-gvpn   GroupVPN at 8, 16, 32 members: all-ping time, churn, links, RSS/Pss/Private, signals, forwarded vs direct (root)"
	@echo "make gvpn-sim     GroupVPN topology simulation, N = 10 .. 100000 (SIM_ARGS=-c 8 -m 16 ...)"
	@echo "make sanitize     unit tests under ASan + UBSan"
	@echo "make fuzz         build libFuzzer harnesses into build-fuzz/fuzz/"
	@echo "make fuzz-run     run each harness FUZZ_SECONDS (default 30) over a copy of its"
	@echo "                  corpus; fails on a crash; FUZZ_MERGE=1 merges new inputs into it"
	@echo "make fuzz-replay  gcc builds of the harnesses that replay test/fuzz/corpus/ (make test runs them)"
	@echo "make fuzz-seeds   rewrite the generated seeds (test/fuzz/make-seeds; then minimize)"
	@echo "make analyze      clang-tidy over the sources"
	@echo "make format-check clang-format --dry-run over the sources"
	@echo "make check-all    what CI does: CI=true build, format-check, sanitize, analyze, test (skips fail)"
	@echo "make deps         install the Debian packages needed (root)"
	@echo "make deb|rpm|packages  .deb/.rpm packages into $(PKG_OUT)"
	@echo "make install      DESTDIR=... PREFIX=... (default /usr/local)"
	@echo "V=1               show the commands"

# protoc-c writes both files in one run (a grouped target: every object,
# which depends on the header, is rebuilt when the .proto changes).
$(PROTO_C) $(BUILD)/proto/ipop.pb-c.h &: proto/ipop.proto
	$(call msg,PROTOC,$<)
	$(Q)mkdir -p $(BUILD)/proto && protoc-c --c_out=$(BUILD) $<

# Python classes for examples/static-mesh and docs/write-a-controller.md
# (Debian's protobuf-compiler and python3-protobuf); never checked in.
PY_PROTO := $(BUILD)/python/ipop_pb2.py
$(PY_PROTO): proto/ipop.proto
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(dir $@) && protoc -Iproto --python_out=$(dir $@) $<
python-proto: $(PY_PROTO)

$(BUILD)/proto/ipop.pb-c.o: $(PROTO_C)
	$(call msg,CC,$<)
	$(Q)$(CC) $(filter-out -Wcast-qual -Wmissing-prototypes,$(CFLAGS_ALL)) -c -o $@ $<

$(BUILD)/%.o: %.c $(BUILD)/proto/ipop.pb-c.h
	$(call msg,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -c -o $@ $<

$(LIB_PROTO): $(call objs,$(PROTO_SRC)) $(BUILD)/proto/ipop.pb-c.o
$(LIB_COMMON): $(call objs,$(COMMON_SRC))
$(LIB_TINCAN): $(call objs,$(TINCAN_SRC))
$(LIB_CONTROLLER): $(call objs,$(CONTROLLER_SRC))
$(BUILD)/libipop-%.a:
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/ipop-tincan: $(BUILD)/tincan/main.o $(LIBS_TINCAN)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(BUILD)/ipop-controller: $(BUILD)/controller/main.o $(LIBS_CONTROLLER)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(FLOOD): $(BUILD)/test/e2e/flood.o $(LIBS_TINCAN)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(BUILD)/ipopctl: $(call objs,$(IPOPCTL_SRC)) $(LIBS_IPOPCTL)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(GVPN_SIM): $(call objs,$(GVPN_SIM_SRC)) $(LIB_COMMON)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

gvpn-sim: $(GVPN_SIM)
	$(Q)$(GVPN_SIM) $(SIM_ARGS)

# One check binary for every suite: each test/unit/*.c defines
# `Suite *suite_NAME(void)`; the list is generated from the sources.
$(BUILD)/test/unit/suites.h: $(UNIT_SRC)
	@mkdir -p $(dir $@)
	$(Q)grep -ho '^Suite \*suite_[a-z0-9_]*(void)' $(UNIT_SRC) | sort | \
		sed 's/^Suite \*\(suite_[a-z0-9_]*\)(void)/X(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/test/unit/main.o: $(BUILD)/test/unit/suites.h
# Suite constructors are found by the generated list, not by a header.
$(BUILD)/test/unit/%.o: CFLAGS_ALL += -Wno-missing-prototypes

$(BUILD)/unit-tests: $(UNIT_OBJ) $(LIBS_EVERY)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL) $(CHECK_LIBS)

unit: $(BUILD)/unit-tests
	$(Q)cd test/unit && ../../$(BUILD)/unit-tests

e2e: $(BINS) $(FLOOD) $(PY_PROTO)
	$(Q)$(AS_ROOT) test/run-e2e

# A harness without libFuzzer: main() in replay.c feeds it files.
$(BUILD)/fuzz-replay/%: $(BUILD)/test/fuzz/%.o $(BUILD)/test/fuzz/replay.o $(LIBS_EVERY)
	$(call msg,LD,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

fuzz-replay: $(FUZZ_REPLAY)
.SECONDARY: $(patsubst %,$(BUILD)/test/fuzz/%.o,$(FUZZ_NAMES) replay)

# Writes the generated seed inputs (test/fuzz/seeds/write-seeds.c).
FUZZ_SEEDS_OBJ := $(call objs,$(wildcard test/fuzz/seeds/*.c) test/unit/frame_samples.c \
	test/unit/xlate_cases.c test/unit/offload_frames.c)
$(BUILD)/fuzz-seeds: $(FUZZ_SEEDS_OBJ) $(LIBS_EVERY)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL) $(CHECK_LIBS)

fuzz-seeds: $(BUILD)/fuzz-seeds fuzz
	$(Q)BUILD=$(BUILD) test/fuzz/make-seeds

test: $(BINS) $(FLOOD) $(PY_PROTO) $(BUILD)/unit-tests $(FUZZ_REPLAY)
	$(Q)$(AS_ROOT) test/run-all

demo: $(BINS)
	$(Q)$(AS_ROOT) tools/demo-gvpn

demo-tincan: $(BINS)
	$(Q)$(AS_ROOT) tools/demo

bench: $(BINS)
	$(Q)$(AS_ROOT) tools/bench $(BENCH_ARGS)

# GroupVPN at N = 8, 16, 32 members (BENCH_GVPN_ARGS="8 16 32 64").
bench-gvpn: $(BINS)
	$(Q)$(AS_ROOT) tools/bench-gvpn $(BENCH_GVPN_ARGS)

# clang reports -Wcast-qual inside protobuf-c's generated INIT macros even
# from a system header (gcc does not); the gcc build keeps the warning.
CLANG_W := -Wno-cast-qual
sanitize:
	$(Q)$(MAKE) BUILD=build-san CC=clang CFLAGS="$(CLANG_W)" OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" build-san/unit-tests
	$(Q)cd test/unit && CK_FORK=no ASAN_OPTIONS=detect_leaks=1 ../../build-san/unit-tests

FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz:
	$(Q)$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(CLANG_W)" OPT="$(FUZZ_FLAGS)" \
		$(subst $(BUILD)/,build-fuzz/,$(LIBS_EVERY))
	$(Q)mkdir -p build-fuzz/fuzz
	$(Q)for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		echo "  FUZZ    $$n"; \
		clang $(FUZZ_FLAGS) $(CLANG_W) -fsanitize=fuzzer -D_GNU_SOURCE -I. -isystem build-fuzz $(PKG_CFLAGS) -o build-fuzz/fuzz/$$n $$f \
			$(subst $(BUILD)/,build-fuzz/,$(LIBS_EVERY)) $(LIBS_ALL) || exit 1; done

# Bounded fuzzing (CI: FUZZ_SECONDS=20): test/fuzz/run.
fuzz-run: fuzz
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MERGE=$(FUZZ_MERGE) test/fuzz/run $(FUZZ_NAMES)

analyze: $(PROTO_C)
	$(Q)clang-tidy --quiet --checks=-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling \
		$(CHECKED_SRC) -- \
		-D_GNU_SOURCE -DIPOP_VERSION=\"$(VERSION)\" -I. -isystem $(BUILD) $(PKG_CFLAGS)

format-check:
	$(Q)clang-format --dry-run --Werror $(CHECKED_SRC) $(CHECKED_HDR)

# What CI runs (.ci/run, after installing the packages), plus analyze; with
# CI=true warnings are errors and test/run-all counts every skip as a failure.
.PHONY: check-all
check-all:
	$(Q)$(MAKE) CI=true all $(BUILD)/unit-tests fuzz-replay
	$(Q)$(MAKE) format-check
	$(Q)$(MAKE) sanitize
	$(Q)$(MAKE) analyze
	$(Q)$(MAKE) CI=true test

deps:
	$(Q)tools/install-deps

PREFIX  ?= /usr/local
DESTDIR ?=
PKG_OUT ?= $(BUILD)/packages
.PHONY: deb rpm packages
install: $(BINS)
	$(Q)BUILD=$(BUILD) DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) packaging/install-files
	@echo "installed; the units run as the users ipop and ipop-controller (group ipop),"
	@echo "which the packages create and make install does not: see packaging/README.md"
deb:
	$(Q)packaging/build deb $(PKG_OUT)
rpm:
	$(Q)packaging/build rpm $(PKG_OUT)
packages:
	$(Q)packaging/build all $(PKG_OUT)

clean:
	rm -rf $(BUILD) build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
