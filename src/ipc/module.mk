# src/ipc: p2pd.proto imports fastn.proto, and libfastn shares the framing
# code (frame.c) with the daemon.
$(BUILD)/gen/ipc/p2pd.pb-c.c $(BUILD)/gen/ipc/p2pd.pb-c.h: src/ipc/fastn.proto
CLIENT_OBJS += $(call obj,src/ipc/frame.c)
CLIENT_PIC_OBJS += $(call picobj,src/ipc/frame.c)
