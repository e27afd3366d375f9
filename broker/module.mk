# broker/: the broker (event loop, scheduler, leases, recovery); main in broker/main.c.
SRCS_broker := $(filter-out broker/main.c,$(wildcard broker/*.c))
BIN_NAMES += $(if $(wildcard broker/main.c),ganq-broker)
MAIN_ganq-broker := broker/main.c
# Until storage/out/*.c lands (the `kinds` helper's area), the broker builds without it and
# skips job finalization with a warning; this flag switches to out_finalize_job() as soon as
# the code is in the tree (run `make clean` once after it lands: make does not track flags).
ifneq ($(wildcard storage/out/*.c),)
$(OBJ)/broker/%.o: CPPFLAGS += -DGQ_HAVE_OUT
endif
# broker.o must be rebuilt when storage/out sources appear or change (the flag above).
$(OBJ)/broker/broker.o: $(wildcard storage/out/*.c)
