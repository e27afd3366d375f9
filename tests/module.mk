# tests/: every tests/unit/test_*.c is a cmocka binary linked against all ganq libraries;
# tests/run.sh runs them (from build/asan), then tests/integration/test_* and
# tests/reference/test_*. Nothing here needs listing by hand: add a file and it runs.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_HELPERS := $(wildcard tests/unit/helpers/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
ALL_OBJS += $(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRCS) $(UNIT_HELPERS))

$(B)/tests/%: $(OBJ)/tests/unit/%.o $(patsubst %.c,$(OBJ)/%.o,$(UNIT_HELPERS)) $$(GQ_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(patsubst %.c,$(OBJ)/%.o,$(UNIT_HELPERS)) $(GQ_LIBS) -lcmocka $(LIBS)

unit-bins: $(UNIT_BINS)
