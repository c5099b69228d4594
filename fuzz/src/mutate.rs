//! Structured mutations of a token: the edits an attacker holding one
//! valid token can make. Positions wrap around the current length, so
//! every mutation applies.

/// One edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Flips one bit (a one-character forgery).
    FlipBit {
        /// Byte position.
        at: usize,
        /// Bit 0-7.
        bit: u8,
    },
    /// Keeps the first `len` bytes (truncated MAC or payload).
    Truncate {
        /// Bytes kept.
        len: usize,
    },
    /// Removes `len` bytes at `at`.
    Delete {
        /// Start.
        at: usize,
        /// Length.
        len: usize,
    },
    /// Inserts bytes at `at` (padding, extra dots, a second kid).
    Insert {
        /// Position.
        at: usize,
        /// Bytes.
        bytes: Vec<u8>,
    },
    /// Replaces `len` bytes at `at` with a range of another token.
    Splice {
        /// Which other token.
        source: usize,
        /// Start in the source.
        from: usize,
        /// Bytes taken from the source.
        take: usize,
        /// Start in this token.
        at: usize,
        /// Bytes replaced in this token.
        len: usize,
    },
    /// Replaces one dot-separated part (0 version, 1 kid, 2 payload,
    /// 3 MAC) with the same part of another token: kid confusion, payload
    /// swap under a valid MAC.
    SwapPart {
        /// Which part.
        part: u8,
        /// Which other token.
        source: usize,
    },
    /// Flips the ASCII case of one byte (base64 is case-sensitive).
    ToggleCase {
        /// Position.
        at: usize,
    },
}

fn wrap(at: usize, len: usize) -> usize {
    at % (len + 1)
}

fn parts(t: &[u8]) -> Vec<&[u8]> {
    t.splitn(4, |b| *b == b'.').collect()
}

/// Applies `muts` in order to `token`; `sources` are the tokens splices
/// take from.
pub fn apply(token: &[u8], muts: &[Mutation], sources: &[&[u8]]) -> Vec<u8> {
    let mut t = token.to_vec();
    let source = |i: usize| sources.get(i % sources.len().max(1)).copied().unwrap_or_default();
    for m in muts {
        match m {
            Mutation::FlipBit { at, bit } => {
                if !t.is_empty() {
                    let i = at % t.len();
                    t[i] ^= 1 << (bit % 8);
                }
            }
            Mutation::Truncate { len } => t.truncate(wrap(*len, t.len())),
            Mutation::Delete { at, len } => {
                let start = wrap(*at, t.len());
                let end = start + len % (t.len() - start + 1);
                t.drain(start..end);
            }
            Mutation::Insert { at, bytes } => {
                let at = wrap(*at, t.len());
                t.splice(at..at, bytes.iter().copied());
            }
            Mutation::Splice { source: s, from, take, at, len } => {
                let src = source(*s);
                let from = wrap(*from, src.len());
                let piece = &src[from..from + take % (src.len() - from + 1)];
                let at = wrap(*at, t.len());
                let end = at + len % (t.len() - at + 1);
                t.splice(at..end, piece.iter().copied());
            }
            Mutation::SwapPart { part, source: s } => {
                let theirs = parts(source(*s));
                let ours = parts(&t);
                let p = usize::from(part % 4);
                if let (Some(new), true) = (theirs.get(p), p < ours.len()) {
                    let mut rebuilt: Vec<&[u8]> = ours.clone();
                    rebuilt[p] = new;
                    t = rebuilt.join(&b"."[..]);
                }
            }
            Mutation::ToggleCase { at } => {
                if !t.is_empty() {
                    let i = at % t.len();
                    if t[i].is_ascii_alphabetic() {
                        t[i] ^= 0x20;
                    }
                }
            }
        }
    }
    t
}
