# worker/engine: the BigGAN engine library (model files, noise, backends) and ganq-engine.
SRCS_engine := $(filter-out worker/engine/tool/%,$(wildcard worker/engine/*.c worker/engine/*/*.c))
BIN_NAMES += $(if $(wildcard worker/engine/tool/main.c),ganq-engine)
MAIN_ganq-engine := worker/engine/tool/main.c
# ganq-engine's subcommands live beside its main.
SRCS_enginetool := $(filter-out worker/engine/tool/main.c,$(wildcard worker/engine/tool/*.c))
