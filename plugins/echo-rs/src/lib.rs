//! echo-rs: the echo plugin (plugins/echo/echo.c) written again in Rust
//! on the SDK crate sdk/rust/fastn-plugin, with the same behaviour: every
//! byte a peer writes on /fastn/echo-rs/1.0.0 goes back to it, honouring
//! backpressure (bytes the stream cannot take yet wait in its StreamBuf
//! and go out on on_writable; while any wait, on_data returns
//! FASTN_ERR_AGAIN, so the host holds the new data and pauses the
//! stream); the calls "echo ARG", "args ARG..." and "id" answer as the C
//! echo's do.
use fastn_plugin::{args_split, bytes, call_reply, call_reply_parts, err, Flushed,
                   Global, StreamBuf};

fastn_plugin::manifest!(
    r#"{
    "name": "echo-rs",
    "version": "1.0.0",
    "abi": 1,
    "description": "Echoes stream data back to the sender, in Rust (tests)",
    "protocols": ["/fastn/echo-rs/1.0.0"],
    "capabilities": [],
    "serves": "anyone",
    "limits": {"streams": 256, "memory_pages": 64},
    "apps": ["fastn"]
}"#
);

const MAX_STREAMS: usize = 256;
const MAX_ARGS: usize = 16;

static STREAMS: Global<Vec<StreamBuf>> = Global::new();

/// Runs f on the stream's buffer; BAD_HANDLE when it has none. A failed
/// or closed buffer is forgotten.
fn with_stream(stream: i32, f: impl FnOnce(&mut StreamBuf) -> Result<Flushed, i32>) -> i32 {
    STREAMS.with(Vec::new, |v| {
        let i = match v.iter().position(|s| s.stream == stream) {
            Some(i) => i,
            None => return err::FASTN_ERR_PLUGIN_BAD_HANDLE,
        };
        match f(&mut v[i]) {
            Ok(Flushed::Closed) => {
                v.swap_remove(i);
                0
            }
            Ok(Flushed::Waiting) if v[i].out.is_empty() => 0,
            Ok(_) => 0,
            Err(e) => {
                v.swap_remove(i);
                e
            }
        }
    })
}

#[no_mangle]
pub extern "C" fn on_stream(stream: i32, _peer: *const u8, _peer_len: usize,
                            _proto: *const u8, _proto_len: usize) -> i32 {
    STREAMS.with(Vec::new, |v| {
        if v.len() >= MAX_STREAMS {
            return err::FASTN_ERR_PLUGIN_LIMIT;
        }
        v.push(StreamBuf::new(stream));
        0
    })
}

#[no_mangle]
pub extern "C" fn on_data(stream: i32, data: *const u8, len: usize) -> i32 {
    let data = unsafe { bytes(data, len) };
    let mut again = false;
    let rc = with_stream(stream, |s| {
        if !s.out.is_empty() && s.flush()? == Flushed::Waiting {
            again = true; /* hold it: on_writable comes first */
            return Ok(Flushed::Waiting);
        }
        s.send(data)?; /* straight back */
        Ok(Flushed::Idle)
    });
    if again { err::FASTN_ERR_AGAIN } else { rc }
}

#[no_mangle]
pub extern "C" fn on_writable(stream: i32) -> i32 {
    let rc = with_stream(stream, |s| s.flush());
    if rc == err::FASTN_ERR_PLUGIN_BAD_HANDLE { 0 } else { rc }
}

#[no_mangle]
pub extern "C" fn on_close(stream: i32, reason: i32) -> i32 {
    let rc = with_stream(stream, |s| {
        if reason != fastn_plugin::CLOSE_EOF {
            return Ok(Flushed::Closed); /* gone: the handle is dead */
        }
        s.closing = true; /* close once what waits is out */
        s.flush()
    });
    if rc == err::FASTN_ERR_PLUGIN_BAD_HANDLE { 0 } else { rc }
}

/// "args": the arguments, one per line as "N: ARG".
fn call_args(call: i32, arg: &[u8]) -> i32 {
    let args = args_split(arg);
    if args.len() > MAX_ARGS {
        return reply(call, err::FASTN_ERR_TOO_LARGE, b"at most 16 arguments");
    }
    let head = format!("{} args\n", args.len()).into_bytes();
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        out.extend_from_slice(format!("{}: ", i).as_bytes());
        out.extend_from_slice(a);
        out.push(b'\n');
    }
    /* two pieces, sent as one answer (call_reply_v) */
    match call_reply_parts(call, 0, &[&head, &out]) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

fn reply(call: i32, status: i32, data: &[u8]) -> i32 {
    match call_reply(call, status, data) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

#[no_mangle]
pub extern "C" fn on_call(call: i32, method: *const u8, method_len: usize,
                          arg: *const u8, arg_len: usize) -> i32 {
    let method = unsafe { bytes(method, method_len) };
    let arg = unsafe { bytes(arg, arg_len) };
    match method {
        b"echo" => reply(call, 0, arg),
        b"args" => call_args(call, arg),
        b"id" => match fastn_plugin::local_peer_id() {
            Ok(id) => reply(call, 0, id.as_bytes()),
            Err(e) => e,
        },
        _ => reply(call, err::FASTN_ERR_NOT_FOUND,
                   b"unknown method; echo-rs has: echo ARG, args ARG..., id"),
    }
}
