# recur - build, test, bench, demo.  `make help` lists the targets.
#
# Layout: core/ io/ worker/ coordinator/ build into build/<variant>/librecur.a,
# the CLI is bin/recur, each tests/test_*.c is one cmocka binary.

.DEFAULT_GOAL := all
SHELL := /bin/bash

VARIANT ?= release
BUILD   := build/$(VARIANT)

PKGS    := hdf5 openblas inih ompi-c libzmq
CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# No -ffast-math anywhere: results must be reproducible and match PyTorch.
OPT_release := -O3 -march=native -fno-math-errno
OPT_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS  := -std=c11 -D_GNU_SOURCE -g $(OPT_$(VARIANT)) $(WARN) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhdf5_hl -lm
SAN     := -fsanitize=address,undefined
LDFLAGS := $(if $(filter asan,$(VARIANT)),$(SAN))

LIB_SRC  := $(wildcard core/*.c io/*.c worker/*.c) $(filter-out coordinator/main.c,$(wildcard coordinator/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
RECUR    := $(if $(filter release,$(VARIANT)),bin/recur,$(BUILD)/recur)

.PHONY: all deps test asan bench demo clean help check-deps

all: check-deps $(RECUR) $(TEST_BIN)

help:
	@echo "make          build bin/recur and the test binaries"
	@echo "make test     install missing packages, build, run every test"
	@echo "make asan     the tests under AddressSanitizer + UBSan"
	@echo "make bench    throughput vs OpenBLAS SGEMM and PyTorch (single thread)"
	@echo "make demo     train a char-LSTM on Tiny Shakespeare, then sample"

# Installs the Debian packages when something is missing (idempotent, fast when all present).
check-deps:
	@scripts/install-deps --if-missing

# ISO C mode turns FMA contraction off; the GEMM kernel needs it (76 vs 114
# GFLOP/s here).  Contraction is deterministic for a given binary.
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
	@$(CC) $(CFLAGS) -MF $(BUILD)/coordinator/main.d $< $(BUILD)/librecur.a $(LDFLAGS) $(LDLIBS) -o $@

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
	@scripts/bench

demo: all
	@scripts/demo

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
