# storage/db: the SQLite job store (schema, migrations, state machines).
# storage/out: output writers (PNG, JPEG, NPZ, WebDataset tar, sheets, atomic rename).
SRCS_store := $(wildcard storage/db/*.c)
SRCS_out   := $(wildcard storage/out/*.c)
