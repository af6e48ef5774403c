//! fastn plugin SDK for Rust: the plugin ABI of docs/PLUGIN-ABI.md (ABI 1),
//! bound by hand (no crates from outside), for plugins built with Debian's
//! `rustc` for `wasm32-unknown-unknown` (package libstd-rust-dev-wasm32).
//!
//! A plugin is a `cdylib` crate that
//! - declares its manifest once with [`manifest!`] (which also defines the
//!   `fastn_alloc`/`fastn_free` exports the host places event data with);
//! - defines the handlers it needs as `#[no_mangle] pub extern "C" fn`
//!   with the C signatures of include/fastn/plugin.h (`on_stream`,
//!   `on_data`, `on_close`, `on_writable`, `on_call`, ...), turning the
//!   host's pointers into slices with [`bytes`];
//! - acts through the safe wrappers here ([`stream_write`], [`call_reply`],
//!   [`log`], ...) or the raw imports in [`sys`].
//!
//! Conventions are the C SDK's: every call returns `Ok` or a negative
//! fastn_err code ([`err`]); buffers the host passes to a handler are valid
//! only until it returns; events never overlap. plugins/echo-rs is a
//! complete plugin. Build (what the Makefile does):
//!
//! ```text
//! rustc --edition 2021 --crate-type rlib --target wasm32-unknown-unknown \
//!       -O sdk/rust/fastn-plugin/src/lib.rs -o libfastn_plugin.rlib
//! rustc --edition 2021 --crate-type cdylib --target wasm32-unknown-unknown \
//!       -O --extern fastn_plugin=libfastn_plugin.rlib src/lib.rs -o p.wasm
//! ```
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// The fastn_err codes of include/fastn/err.h (generated from it).
pub mod err {
    include!(env!("FASTN_ERR_RS"));
}

/// The ABI version this SDK speaks.
pub const ABI: i32 = 1;
/// `on_close` reason: the peer finished writing.
pub const CLOSE_EOF: i32 = 0;
/// Log levels of [`log`].
pub const LOG_ERROR: i32 = 0;
pub const LOG_WARN: i32 = 1;
pub const LOG_INFO: i32 = 2;
pub const LOG_DEBUG: i32 = 3;

/// The host's functions, module `fastn`, as docs/PLUGIN-ABI.md lists them
/// (only those a plugin calls become imports of its module).
pub mod sys {
    #[link(wasm_import_module = "fastn")]
    extern "C" {
        pub fn stream_open(peer: *const u8, peer_len: usize, proto: *const u8,
                           proto_len: usize) -> i32;
        pub fn stream_write(stream: i32, data: *const u8, len: usize) -> i32;
        pub fn stream_close(stream: i32) -> i32;
        pub fn stream_reset(stream: i32) -> i32;
        pub fn stream_peer(stream: i32, buf: *mut u8, cap: usize) -> i32;
        pub fn call_reply(call: i32, status: i32, data: *const u8, len: usize)
            -> i32;
        pub fn call_reply_v(call: i32, status: i32, iov: *const super::Iov,
                            n: usize) -> i32;
        pub fn notify(title: *const u8, title_len: usize, body: *const u8,
                      body_len: usize) -> i32;
        pub fn timer_set(id: i32, delay_ms: i64) -> i32;
        pub fn timer_cancel(id: i32) -> i32;
        pub fn now_ms() -> i64;
        pub fn monotonic_ms() -> i64;
        pub fn random(buf: *mut u8, len: usize) -> i32;
        pub fn log(level: i32, msg: *const u8, len: usize) -> i32;
        pub fn local_peer_id(buf: *mut u8, cap: usize) -> i32;
        pub fn sql_exec(sql: *const u8, len: usize) -> i32;
        pub fn sql_prepare(sql: *const u8, len: usize) -> i32;
        pub fn sql_bind_int64(stmt: i32, idx: i32, v: i64) -> i32;
        pub fn sql_bind_text(stmt: i32, idx: i32, p: *const u8, len: usize)
            -> i32;
        pub fn sql_step(stmt: i32) -> i32;
        pub fn sql_reset(stmt: i32) -> i32;
        pub fn sql_finalize(stmt: i32) -> i32;
        pub fn sql_column_int64(stmt: i32, col: i32) -> i64;
        pub fn sql_column_bytes(stmt: i32, col: i32, buf: *mut u8, cap: usize)
            -> i32;
        pub fn blob_put(key: *const u8, key_len: usize, data: *const u8,
                        len: usize) -> i32;
        pub fn blob_read(key: *const u8, key_len: usize, offset: u64,
                         buf: *mut u8, cap: usize) -> i32;
        pub fn blob_size(key: *const u8, key_len: usize) -> i64;
        pub fn blob_delete(key: *const u8, key_len: usize) -> i32;
    }
}

/// Declares the plugin's manifest (JSON, docs/PLUGIN-ABI.md "The
/// manifest") as the custom section `fastn.manifest`, and defines the
/// `fastn_alloc`/`fastn_free` exports. Use it once, in the plugin crate.
#[macro_export]
macro_rules! manifest {
    ($json:expr) => {
        #[link_section = "fastn.manifest"]
        #[used]
        static FASTN_MANIFEST: [u8; $json.len()] =
            $crate::str_bytes::<{ $json.len() }>($json);

        #[no_mangle]
        pub extern "C" fn fastn_alloc(n: usize) -> *mut u8 {
            $crate::alloc_block(n)
        }

        #[no_mangle]
        pub extern "C" fn fastn_free(p: *mut u8) {
            $crate::free_block(p)
        }
    };
}

/// The bytes of s as an array (for [`manifest!`]).
pub const fn str_bytes<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

const HDR: usize = 8; /* the block's size, before what the host gets */

/// A block for the host (fastn_alloc): null when out of memory.
pub fn alloc_block(n: usize) -> *mut u8 {
    let layout = match n.checked_add(HDR) {
        Some(total) => match core::alloc::Layout::from_size_align(total, HDR) {
            Ok(l) => l,
            Err(_) => return core::ptr::null_mut(),
        },
        None => return core::ptr::null_mut(),
    };
    let total = layout.size();
    unsafe {
        let p = alloc::alloc::alloc(layout);
        if p.is_null() {
            return p;
        }
        (p as *mut usize).write(total);
        p.add(HDR)
    }
}

/// Frees a block of [`alloc_block`] (fastn_free); null does nothing.
pub fn free_block(p: *mut u8) {
    if p.is_null() {
        return;
    }
    unsafe {
        let base = p.sub(HDR);
        let total = (base as *const usize).read();
        let layout = core::alloc::Layout::from_size_align_unchecked(total, HDR);
        alloc::alloc::dealloc(base, layout);
    }
}

/// The len bytes the host passed at ptr (valid until the handler returns;
/// an empty slice for len 0, whatever ptr is).
///
/// # Safety
/// ptr and len must be what the host passed to this handler.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        core::slice::from_raw_parts(ptr, len)
    }
}

/// State kept across events: the host runs one event at a time and never
/// re-enters the plugin, so one mutable borrow at a time is all it takes.
pub struct Global<T>(UnsafeCell<Option<T>>);

// Safety: a plugin instance is single-threaded and events do not nest.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub const fn new() -> Self {
        Global(UnsafeCell::new(None))
    }

    /// Runs f on the value, made with make the first time. Do not call
    /// it again from inside f.
    pub fn with<R>(&self, make: fn() -> T, f: impl FnOnce(&mut T) -> R) -> R {
        let v = unsafe { &mut *self.0.get() };
        f(v.get_or_insert_with(make))
    }
}

fn result(n: i32) -> Result<usize, i32> {
    if n < 0 { Err(n) } else { Ok(n as usize) }
}

/// Queues bytes; how many the stream took (maybe fewer: on_writable
/// follows), or an error (err::AGAIN when its queue is full).
pub fn stream_write(stream: i32, data: &[u8]) -> Result<usize, i32> {
    result(unsafe { sys::stream_write(stream, data.as_ptr(), data.len()) })
}

/// Finishes our side of a stream.
pub fn stream_close(stream: i32) -> Result<(), i32> {
    result(unsafe { sys::stream_close(stream) }).map(|_| ())
}

/// Aborts a stream both ways.
pub fn stream_reset(stream: i32) -> Result<(), i32> {
    result(unsafe { sys::stream_reset(stream) }).map(|_| ())
}

/// Answers a call once: status 0 and the result, or an error code and a
/// message.
pub fn call_reply(call: i32, status: i32, data: &[u8]) -> Result<(), i32> {
    result(unsafe { sys::call_reply(call, status, data.as_ptr(), data.len()) })
        .map(|_| ())
}

/// One piece of an answer for `sys::call_reply_v` (`struct fastn_iov`).
#[repr(C)]
pub struct Iov {
    pub p: *const u8,
    pub len: usize,
}

/// The most pieces [`call_reply_parts`] takes.
pub const CALL_REPLY_PIECES: usize = 16;

/// [`call_reply`] of `parts` one after another, which the host takes
/// from where they are (no joining copy): at most 16 parts, 2 MiB in all.
pub fn call_reply_parts(call: i32, status: i32, parts: &[&[u8]])
                        -> Result<(), i32> {
    if parts.len() > CALL_REPLY_PIECES {
        return Err(err::FASTN_ERR_INVAL);
    }
    let mut v: [Iov; CALL_REPLY_PIECES] =
        core::array::from_fn(|_| Iov { p: core::ptr::null(), len: 0 });
    for (i, p) in parts.iter().enumerate() {
        v[i] = Iov { p: p.as_ptr(), len: p.len() };
    }
    result(unsafe { sys::call_reply_v(call, status, v.as_ptr(), parts.len()) })
        .map(|_| ())
}

/// One line into the daemon's log.
pub fn log(level: i32, msg: &str) -> Result<(), i32> {
    result(unsafe { sys::log(level, msg.as_ptr(), msg.len()) }).map(|_| ())
}

/// This daemon's PeerID.
pub fn local_peer_id() -> Result<String, i32> {
    let mut buf = [0u8; 128];
    let n = result(unsafe { sys::local_peer_id(buf.as_mut_ptr(), buf.len()) })?;
    let n = n.min(buf.len());
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A call's arguments (docs/PLUGIN-ABI.md, "Call arguments"): none is
/// empty, one is its bytes, several are joined by one NUL byte. Splits at
/// every NUL; empty bytes are no argument.
pub fn args_split(arg: &[u8]) -> Vec<&[u8]> {
    if arg.is_empty() {
        Vec::new()
    } else {
        arg.split(|&b| b == 0).collect()
    }
}

/// What one stream has not sent yet (the C SDK's fastn_sbuf, its output
/// half): [`StreamBuf::send`] writes what the stream takes and keeps the
/// rest, [`StreamBuf::flush`] (from on_writable) sends it and, once all
/// is out and the stream is closing, closes it.
pub struct StreamBuf {
    pub stream: i32,
    pub out: Vec<u8>,
    /// Close the stream once out is sent.
    pub closing: bool,
}

/// What [`StreamBuf::flush`] left of the stream.
#[derive(PartialEq, Eq, Debug)]
pub enum Flushed {
    /// Bytes still wait for room (on_writable comes).
    Waiting,
    /// All sent; the stream stays open.
    Idle,
    /// All sent and the stream closed: forget it.
    Closed,
}

impl StreamBuf {
    pub fn new(stream: i32) -> Self {
        StreamBuf { stream, out: Vec::new(), closing: false }
    }

    /// Writes what waits; closes the stream once all is out and closing.
    pub fn flush(&mut self) -> Result<Flushed, i32> {
        while !self.out.is_empty() {
            match stream_write(self.stream, &self.out) {
                Ok(0) | Err(err::FASTN_ERR_AGAIN) => return Ok(Flushed::Waiting),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) => return Err(e),
            }
        }
        if self.closing {
            stream_close(self.stream)?;
            return Ok(Flushed::Closed);
        }
        Ok(Flushed::Idle)
    }

    /// Sends data after what still waits: what the stream takes now goes,
    /// the rest waits for flush.
    pub fn send(&mut self, mut data: &[u8]) -> Result<(), i32> {
        if self.out.is_empty() && !data.is_empty() {
            match stream_write(self.stream, data) {
                Ok(n) => data = &data[n..],
                Err(err::FASTN_ERR_AGAIN) => {}
                Err(e) => return Err(e),
            }
        }
        self.out.extend_from_slice(data);
        Ok(())
    }
}
