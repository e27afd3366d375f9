# client/: the ganq CLI (command table, one file per command family); main in client/main.c.
SRCS_client := $(filter-out client/main.c,$(wildcard client/*.c))
BIN_NAMES += $(if $(wildcard client/main.c),ganq)
MAIN_ganq := client/main.c
