# client/: the ganq CLI (command table, one file per command family); main in client/main.c.
SRCS_client := $(filter-out client/main.c,$(wildcard client/*.c))
BIN_NAMES += $(if $(wildcard client/main.c),ganq)
MAIN_ganq := client/main.c

# make fuzz: also the wire decoder's libFuzzer target (tests/fuzz/fuzz_wire.c; FUZZ_CC and
# FUZZ_FLAGS come from worker/engine/module.mk). Run e.g.
#   build/fuzz/fuzz_wire -max_total_time=60
fuzz: build/fuzz/fuzz_wire
FUZZ_WIRE_SRC := proto/wire/wire.c $(B)/gen/proto/ganq.pb-c.c proto/base/gq_status.c \
                 proto/base/gq_log.c proto/base/gq_buf.c proto/base/gq_time.c
build/fuzz/fuzz_wire: tests/fuzz/fuzz_wire.c $(FUZZ_WIRE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(B)/gen -o $@ $< $(FUZZ_WIRE_SRC) -lprotobuf-c -lzmq -lm -pthread
