# tests/interop: the net cores against js-libp2p (core_js.sh).
CORE_PEER := $(BUILD)/tests/interop/core_peer
$(CORE_PEER): $(BUILD)/obj/tests/interop/core_peer.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
TEST_DEPS += $(CORE_PEER)
