# recur - build, test, bench, demo, install.  `make help` lists the targets.
#
# Layout: core/ io/ worker/ coordinator/ build into build/<variant>/librecur.a,
# the CLI is bin/recur, each tests/test_*.c is one cmocka binary.
#
# Two stages.  What you type (make, make test, make demo, ...) first makes sure
# the Debian packages are installed (scripts/install-deps), then runs the same
# goal again in a sub-make: only then can pkg-config answer for HDF5, Open MPI
# and the rest, so the flags are computed after the packages exist, whatever
# the order of the goals and with or without -j.

.DEFAULT_GOAL := all
SHELL := /bin/bash

VARIANT ?= release
BUILD   := build/$(VARIANT)
PREFIX  ?= /usr/local
VERSION := 0.4.0

# Goals that need neither the packages nor a build.
NO_DEPS_GOALS := clean help

ifeq ($(RECUR_STAGE),)
# ---- stage 1 --------------------------------------------------------------
.NOTPARALLEL:
GOALS := $(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))
BUILD_GOALS := $(filter-out $(NO_DEPS_GOALS),$(GOALS))

.PHONY: $(GOALS) deps
$(BUILD_GOALS): deps
	@$(MAKE) --no-print-directory RECUR_STAGE=2 $@

deps:
	@scripts/install-deps --if-missing

clean:
	rm -rf build bin

help:
	@echo "make          build bin/recur and the test binaries (installs missing Debian packages first)"
	@echo "make test     build, run every test"
	@echo "make asan     the tests under AddressSanitizer + UBSan"
	@echo "make bench    throughput vs OpenBLAS SGEMM and PyTorch (single thread)"
	@echo "make demo     train a char-LSTM on Tiny Shakespeare under mpirun, then sample"
	@echo "make install  PREFIX=$(PREFIX) [DESTDIR=...]: bin/recur and the man page recur(1)"

else
# ---- stage 2: the packages are there --------------------------------------
PKGS    := hdf5 openblas inih ompi-c libzmq
CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# No -ffast-math anywhere: results must be reproducible and match PyTorch.
# No -march=native either: one binary runs on every node of a mixed cluster;
# the hot kernels pick their instruction set at run time (core/isa.h).
OPT_release := -O3 -fno-math-errno
OPT_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ifeq ($(PKG_LIBS),)
$(error pkg-config found none of $(PKGS): run scripts/install-deps)
endif
CFLAGS  := -std=c11 -D_GNU_SOURCE -g $(OPT_$(VARIANT)) $(WARN) $(PKG_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lhdf5_hl -lm
SAN     := -fsanitize=address,undefined
LDFLAGS := $(if $(filter asan,$(VARIANT)),$(SAN))
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null)
RECUR_VERSION := $(VERSION)$(if $(GIT_REV),+g$(GIT_REV))

LIB_SRC  := $(wildcard core/*.c io/*.c worker/*.c) $(filter-out coordinator/main.c,$(wildcard coordinator/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
RECUR    := $(if $(filter release,$(VARIANT)),bin/recur,$(BUILD)/recur)
MANPAGE  := $(BUILD)/recur.1

.PHONY: all test asan bench demo install

all: $(RECUR) $(TEST_BIN) $(MANPAGE)

# ISO C mode turns FMA contraction off; the GEMM kernel needs it (76 vs 114
# GFLOP/s here).  Contraction is deterministic for a given binary and ISA;
# the parameter update (core/optim.c) is never contracted, so replicas on
# different CPUs stay bitwise identical (the allreduced gradient is).
$(BUILD)/core/rgemm.o: CFLAGS += -ffp-contract=fast

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/librecur.a: $(LIB_OBJ)
	@rm -f $@
	@echo "  AR    $@"
	@ar rcs $@ $^

$(RECUR): coordinator/main.c $(BUILD)/librecur.a
	@mkdir -p $(dir $@) $(BUILD)/coordinator
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -DRECUR_VERSION='"$(RECUR_VERSION)"' -MF $(BUILD)/coordinator/main.d $< $(BUILD)/librecur.a $(LDFLAGS) $(LDLIBS) -o $@

# recur(1): rendered by the binary itself from the option tables behind --help.
$(MANPAGE): $(RECUR)
	@echo "  MAN   $@"
	@$(SAN_ENV) $(RECUR) man > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%: tests/%.c tests/test_util.h $(BUILD)/librecur.a
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	@$(CC) $(CFLAGS) -MF $@.d $< $(BUILD)/librecur.a $(LDFLAGS) $(LDLIBS) -lcmocka -o $@

# Every test binary runs with RECUR pointing at the CLI under test and
# REFDIR at a scratch directory for PyTorch-generated reference cases.
# Under ASan, LeakSanitizer ignores what Open MPI keeps until exit (tests/lsan.supp);
# full unwinding so those stacks can be recognised.
SAN_ENV := $(if $(filter asan,$(VARIANT)),ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):fast_unwind_on_malloc=0:print_suppressions=0)

test: all
	@$(SAN_ENV) RECUR=$(abspath $(RECUR)) BUILD=$(abspath $(BUILD)) scripts/run-tests $(TEST_BIN)

asan:
	@$(MAKE) --no-print-directory VARIANT=asan test

bench: all
	@RECUR=$(RECUR) scripts/bench

demo: $(RECUR)
	@RECUR=$(RECUR) scripts/demo

install: $(RECUR) $(MANPAGE)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(RECUR) $(DESTDIR)$(PREFIX)/bin/recur
	install -m 644 $(MANPAGE) $(DESTDIR)$(PREFIX)/share/man/man1/recur.1

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
endif
