/* Fuzz target: libfastn's hand parser of a plugin call's answer
 * (ipc_frame_find_result) on a Response body, against protobuf-c: a result
 * found is the one protobuf-c decodes, a body it calls malformed protobuf-c
 * refuses too, and the first bytes alone give the same answer or ask for
 * more. Also the daemon's side: for any answer protobuf-c decodes with a
 * call_result, the head ipc_frame_result_head() encodes followed by the
 * result is exactly the frame ipc_frame_append() makes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/frame.h"

static void check_head(const P2pd__Pb__Response *r)
{
    uint8_t head[IPC_FRAME_HEAD_MAX];
    struct buf b;
    size_t hn, n = r->fastn->call_result.len;

    if (ipc_frame_result_head(r, head, sizeof(head), &hn))
        return;
    buf_init(&b, 2 * IPC_MAX_RESPONSE);
    if (ipc_frame_append(&b, &r->base) || b.len != hn + n ||
        memcmp(b.data, head, hn) ||
        (n && memcmp(b.data + hn, r->fastn->call_result.data, n)))
        abort();
    buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    P2pd__Pb__Response *r = p2pd__pb__response__unpack(NULL, size, data);
    size_t off = 0, len = 0, o2, l2;
    int rc = ipc_frame_find_result(data, size, size, &off, &len);

    if (rc == 0) {
        if (!r || r->type != P2PD__PB__RESPONSE__TYPE__OK || !r->fastn ||
            !r->fastn->has_call_result || r->fastn->has_call_id ||
            off + len != size || r->fastn->call_result.len != len ||
            (len && memcmp(r->fastn->call_result.data, data + off, len)))
            abort();
    } else if (rc == FASTN_ERR_MALFORMED) {
        if (r)
            abort();
    } else if (rc != FASTN_ERR_UNSUPPORTED) {
        abort();
    }
    for (size_t avail = 0; avail < size && avail < 64; avail++) {
        int rc2 = ipc_frame_find_result(data, avail, size, &o2, &l2);
        if (rc2 == FASTN_ERR_AGAIN)
            continue;
        if (rc2 != rc || (rc == 0 && (o2 != off || l2 != len)))
            abort();
    }
    if (r && r->fastn && r->fastn->has_call_result)
        check_head(r);
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
    return 0;
}
