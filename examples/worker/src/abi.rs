//! The layer between JavaScript and the crate, shared by the app proxy's
//! module (`src/lib.rs`) and the provider proxy's (`provider/src/lib.rs`):
//! the input and output buffers and their three exports, the
//! NUL-separated fields of an input, and the answer being written.
//!
//! - `vendo_input(cap) -> ptr` makes an input buffer of at least `cap` bytes; the
//!   caller writes one UTF-8 text into it and calls an operation with the
//!   length it wrote;
//! - an operation `vendo_*(len) -> status` reads its fields from that text,
//!   separated by NUL (`\0`, a byte no header name, value, host or URL can
//!   hold), and writes its answer the same way;
//! - `vendo_output() -> ptr`, `vendo_output_len() -> len` locate the answer.
//!
//! Status [`OK`] is an answer (which may be a denial, in its first field),
//! [`BAD_INPUT`] is input the module could not take, with a one-line
//! reason as the answer.

use std::cell::RefCell;

/// A field separator: NUL appears in no header, host or URL.
pub(crate) const SEP: u8 = 0;

pub(crate) const OK: i32 = 0;
pub(crate) const BAD_INPUT: i32 = 2;

/// Why an input was refused; becomes the answer of status 2.
pub(crate) type Refusal = &'static str;

#[derive(Default)]
struct Buffers {
    input: Vec<u8>,
    output: Vec<u8>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Makes the input buffer at least `cap` bytes long and returns where it
/// starts. It only grows: an operation reads only the bytes the caller
/// says it wrote, so what a longer earlier input left behind is never
/// read, and a call does not pay for zeroing the buffer again.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_input(cap: u32) -> *mut u8 {
    BUFFERS.with_borrow_mut(|b| {
        let cap = usize::try_from(cap).unwrap_or(0);
        if b.input.len() < cap {
            b.input.resize(cap, 0);
        }
        b.input.as_mut_ptr()
    })
}

/// Where the last answer starts.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_output() -> *const u8 {
    BUFFERS.with_borrow(|b| b.output.as_ptr())
}

/// How long the last answer is.
#[unsafe(no_mangle)]
pub extern "C" fn vendo_output_len() -> u32 {
    BUFFERS.with_borrow(|b| u32::try_from(b.output.len()).unwrap_or(0))
}

/// Runs one operation on the first `len` input bytes, writing its answer,
/// or the reason it refused them, to the output.
pub(crate) fn run(len: u32, op: impl FnOnce(&[u8], &mut Vec<u8>) -> Result<(), Refusal>) -> i32 {
    BUFFERS.with_borrow_mut(|b| {
        let Buffers { input, output } = b;
        output.clear();
        let text = input.get(..usize::try_from(len).unwrap_or(usize::MAX)).ok_or("length beyond the input");
        match text.and_then(|text| op(text, output)) {
            Ok(()) => OK,
            Err(why) => {
                output.clear();
                output.extend_from_slice(why.as_bytes());
                BAD_INPUT
            }
        }
    })
}

/// Copies `text` into the input buffer, as the JavaScript side writes it
/// through the module's memory, and answers the length to call with:
/// how a native caller prepares a call. `None` for a text over 4 GiB.
#[cfg_attr(not(test), allow(dead_code, reason = "the provider's module has no native caller"))]
pub(crate) fn put_input(text: &[u8]) -> Option<u32> {
    let len = u32::try_from(text.len()).ok()?;
    vendo_input(len);
    BUFFERS.with_borrow_mut(|b| b.input.get_mut(..text.len()).map(|dst| dst.copy_from_slice(text)))?;
    Some(len)
}

/// A copy of the last answer, for a native caller.
#[cfg_attr(not(test), allow(dead_code, reason = "the provider's module has no native caller"))]
pub(crate) fn answer() -> Vec<u8> {
    BUFFERS.with_borrow(|b| b.output.clone())
}

/// The NUL-separated fields of an input, found with `memchr`.
#[derive(Clone)]
pub(crate) struct Fields<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0?;
        match memchr::memchr(SEP, rest) {
            Some(at) => {
                self.0 = rest.get(at.saturating_add(1)..);
                rest.get(..at)
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}

impl<'a> Fields<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Fields(Some(text))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Refusal> {
        self.next().ok_or("missing field")
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, Refusal> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "field is not UTF-8")
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Refusal> {
        self.str()?.parse().map_err(|_| "not a decimal integer")
    }

    pub(crate) fn number(&mut self) -> Result<usize, Refusal> {
        self.str()?.parse().map_err(|_| "not a count")
    }

    /// The remaining fields as `name, value` pairs (`None` for a name
    /// without its value).
    pub(crate) fn pairs(self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> {
        let mut rest = self;
        std::iter::from_fn(move || {
            let name = rest.next()?;
            Some((name, rest.next()))
        })
    }
}

/// The answer being written: fields separated by NUL.
pub(crate) struct Out<'a>(pub(crate) &'a mut Vec<u8>);

impl Out<'_> {
    pub(crate) fn put(&mut self, field: impl AsRef<[u8]>) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push(SEP);
        }
        self.0.extend_from_slice(field.as_ref());
        self
    }

    /// A decimal number, written without the formatting machinery (an
    /// answer holds several counts).
    pub(crate) fn num(&mut self, mut n: u64) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push(SEP);
        }
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0.extend_from_slice(digits.get(at..).unwrap_or_default());
        self
    }
}

/// Hex as configuration carries keys, either case.
pub(crate) fn hex(s: &str) -> Result<Vec<u8>, Refusal> {
    fn nibble(c: u8) -> Result<u8, Refusal> {
        char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok()).ok_or("key is not hex")
    }
    if !s.len().is_multiple_of(2) {
        return Err("hex key has an odd length");
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Ok(nibble(*high)? << 4 | nibble(*low)?),
            _ => Err("hex key has an odd length"),
        })
        .collect()
}

/// Calls `op` with `fields` joined by NUL, as vendo.mjs does; the status
/// and the answer's fields.
#[cfg(test)]
pub(crate) fn call(op: extern "C" fn(u32) -> i32, fields: &[&str]) -> (i32, Vec<String>) {
    let text = fields.join("\0");
    let len = put_input(text.as_bytes()).unwrap();
    // Where the JavaScript side writes is the buffer the operation reads.
    assert_eq!(vendo_input(0) as *const u8, BUFFERS.with_borrow(|b| b.input.as_ptr()));
    let status = op(len);
    let out = String::from_utf8(answer()).unwrap();
    (status, out.split('\0').map(str::to_owned).collect())
}
