# ganq top-level Makefile.
#
# Each module describes itself in its own module.mk fragment (proto/, storage/, broker/,
# worker/, worker/engine/, client/, tests/), which appends its objects to one static library
# and, where it has one, its main() to a binary. This file holds only the toolchain, the
# build variants and the user-facing targets:
#
#   make all         build/bin/{ganq,ganq-broker,ganq-worker,ganq-engine}
#   make run         install what is missing, build, run the main job on the embedded default
#   make test        install what is missing, build (normal + ASan/UBSan), run every test
#   make bench       benchmarks in ops/bench (not tests: they print figures)
#   make check-long  long soak/chaos runs and full-width parity
#   make clean
#
# Variant: `make VARIANT=asan` builds into build/asan with AddressSanitizer + UBSan.
# Generated protobuf-c code goes to $(B)/gen, never into the tree.

VARIANT ?= release
ifeq ($(VARIANT),asan)
  B        := build/asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPTFLAGS := -O1 -g
else
  B        := build/release
  SANFLAGS :=
  OPTFLAGS := -O2 -g
endif

CC       ?= cc
PYTHON   := /usr/bin/python3
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
CSTD     := -std=c11 -D_GNU_SOURCE
CPPFLAGS := -I. -I$(B)/gen -MMD -MP
CFLAGS   := $(CSTD) $(WARN) $(OPTFLAGS) $(SANFLAGS) -pthread -fPIC
LDFLAGS  := $(SANFLAGS) -pthread
# Library order matters for static linking: users before what they use.
LIBS     := -lzmq -lprotobuf-c -lsqlite3 -lpng -ljpeg -lz -lopenblas -lm

BIN := $(B)/bin
OBJ := $(B)/obj

# Static libraries, users before what they use (static link order).
LIB_ORDER := client broker worker store out enginetool plan engine wire base
# Filled in by the module fragments.
BINS      :=        # binaries to build
BIN_NAMES :=        # binaries whose main() exists
ALL_OBJS  :=        # for dependency files

.PHONY: all run test bench check-long clean deps-check unit-bins
.SECONDEXPANSION:
default: all

include proto/module.mk
include storage/module.mk
include worker/engine/module.mk
include worker/module.mk
include broker/module.mk
include client/module.mk
include tests/module.mk

# A library target: $(call gq_lib,NAME,SRCS) defines $(B)/lib/libgq_NAME.a.
define gq_lib
$(B)/lib/libgq_$(1).a: $(patsubst %.c,$(OBJ)/%.o,$(2))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
ALL_OBJS += $(patsubst %.c,$(OBJ)/%.o,$(2))
endef

GQ_LIBS = $(foreach l,$(LIB_ORDER),$(B)/lib/libgq_$(l).a)

$(OBJ)/%.o: %.c | $(GEN_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# A binary: $(call gq_bin,NAME,MAIN_SRC)
define gq_bin
$(BIN)/$(1): $(OBJ)/$(patsubst %.c,%.o,$(2)) $$(GQ_LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $$(GQ_LIBS) $$(LIBS)
BINS += $(BIN)/$(1)
ALL_OBJS += $(OBJ)/$(patsubst %.c,%.o,$(2))
endef

$(foreach l,$(LIB_ORDER),$(eval $(call gq_lib,$(l),$(SRCS_$(l)))))
$(foreach b,$(BIN_NAMES),$(eval $(call gq_bin,$(b),$(MAIN_$(b)))))

all: $(BINS)

deps-check:
	@ops/setup/install-deps.sh --check-or-install

run: deps-check all
	ops/run-main-job.sh

test: deps-check
	$(MAKE) all
	$(MAKE) VARIANT=asan all unit-bins
	tests/run.sh

bench: deps-check all
	ops/bench/run-all.sh

check-long: deps-check all
	GANQ_LONG=1 tests/run.sh --long

clean:
	rm -rf build

-include $(ALL_OBJS:.o=.d)
