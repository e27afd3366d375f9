# broker/: the broker (event loop, scheduler, leases, recovery); main in broker/main.c.
SRCS_broker := $(filter-out broker/main.c,$(wildcard broker/*.c))
BIN_NAMES += $(if $(wildcard broker/main.c),ganq-broker)
MAIN_ganq-broker := broker/main.c
# Until proto/plan/*.c and storage/out/*.c land (other helpers' areas), the broker builds
# without them: broker/plan_fallback.c stands in for the plan, and finalization is skipped
# with a warning. These flags switch to the real code as soon as it is in the tree.
ifneq ($(wildcard proto/plan/*.c),)
$(OBJ)/broker/%.o: CPPFLAGS += -DGQ_HAVE_PLAN
endif
ifneq ($(wildcard storage/out/*.c),)
$(OBJ)/broker/%.o: CPPFLAGS += -DGQ_HAVE_OUT
endif
