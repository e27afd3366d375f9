# broker/: the broker (event loop, scheduler, leases, recovery); main in broker/main.c.
SRCS_broker := $(filter-out broker/main.c,$(wildcard broker/*.c))
BIN_NAMES += $(if $(wildcard broker/main.c),ganq-broker)
MAIN_ganq-broker := broker/main.c
