# worker/: the worker daemon (sockets, heartbeat, executor, committer); main in worker/main.c.
SRCS_worker := $(filter-out worker/main.c,$(wildcard worker/*.c))
BIN_NAMES += $(if $(wildcard worker/main.c),ganq-worker)
MAIN_ganq-worker := worker/main.c
