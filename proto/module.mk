# proto/: the wire protocol (ganq.proto -> protobuf-c, generated at build time into $(B)/gen),
# the codec/validator over it (proto/wire/), and proto/base/: the conventions every binary
# shares (status codes, errors, logging, clocks, JSON writer).
GEN_HEADERS := $(B)/gen/proto/ganq.pb-c.h

$(B)/gen/proto/ganq.pb-c.c $(B)/gen/proto/ganq.pb-c.h: proto/ganq.proto
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen proto/ganq.proto

SRCS_base := $(wildcard proto/base/*.c)
SRCS_plan := $(wildcard proto/plan/*.c)
SRCS_wire := $(wildcard proto/wire/*.c) gen/proto/ganq.pb-c.c

# The generated source is compiled from $(B)/gen, not from the tree.
$(OBJ)/gen/proto/ganq.pb-c.o: $(B)/gen/proto/ganq.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
