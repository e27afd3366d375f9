# worker/engine: the BigGAN engine library (model files, noise, backends) and ganq-engine.
SRCS_engine := $(filter-out worker/engine/tool/%,$(wildcard worker/engine/*.c worker/engine/*/*.c))
BIN_NAMES += $(if $(wildcard worker/engine/tool/main.c),ganq-engine)
MAIN_ganq-engine := worker/engine/tool/main.c
# ganq-engine's subcommands live beside its main.
SRCS_enginetool := $(filter-out worker/engine/tool/main.c,$(wildcard worker/engine/tool/*.c))

# make fuzz: libFuzzer targets for the engine's decoders (tests/fuzz/), built with clang
# (`apt-get install clang` if missing) into build/fuzz/. Run e.g.
#   build/fuzz/fuzz_safetensors -max_total_time=60 tests/fuzz/corpus/safetensors
# `make test` replays the corpus without libFuzzer (tests/unit/test_model_fuzz_replay.c).
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -std=c11 -D_GNU_SOURCE -DGQ_LIBFUZZER -I. -g -O1 -fsanitize=fuzzer,address,undefined
FUZZ_LIBSRC := worker/engine/model/json.c worker/engine/model/safetensors.c \
               worker/engine/model/model.c worker/engine/model/arch.c proto/base/gq_sha256.c \
               worker/engine/npy.c proto/base/gq_status.c proto/base/gq_log.c proto/base/gq_buf.c \
               proto/base/gq_time.c
.PHONY: fuzz
fuzz: build/fuzz/fuzz_safetensors build/fuzz/fuzz_npy
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBSRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIBSRC) -lm -pthread
