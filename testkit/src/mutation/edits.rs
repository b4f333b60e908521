//! The mutations of an input, and the samples they apply to: reproducible edits drawn from a
//! seed, printed in Rust syntax for pasting into a regression test.

use std::fmt;
use std::ops::Range;

use super::env_number;
use crate::rng::Rng;

/// One edit of an input. Positions past the end are clamped (inserts, deletes, truncations) or
/// skipped (flips, sets, writes), so any list applies to any input. `Display` prints Rust syntax
/// (with `use Mutation::*`), for pasting a failing case into a regression test.
#[derive(Clone, PartialEq, Eq)]
pub enum Mutation {
    /// XOR one bit.
    Flip {
        /// The byte.
        at: usize,
        /// The bit, 0 to 7.
        bit: u8,
    },
    /// Overwrite one byte.
    Set {
        /// The byte.
        at: usize,
        /// Its new value.
        value: u8,
    },
    /// Overwrite bytes (a little-endian integer, a token), clipped at the end.
    Write {
        /// Where the bytes start.
        at: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Insert bytes before `at`.
    Insert {
        /// Where.
        at: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Remove `len` bytes from `at`.
    Delete {
        /// Where.
        at: usize,
        /// How many bytes.
        len: usize,
    },
    /// Keep the first `len` bytes.
    Truncate {
        /// Bytes kept.
        len: usize,
    },
}

pub use Mutation::*;

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flip { at, bit } => write!(f, "Flip {{ at: {at}, bit: {bit} }}"),
            Set { at, value } => write!(f, "Set {{ at: {at}, value: {value:#04x} }}"),
            Write { at, bytes } => write!(f, "Write {{ at: {at}, bytes: vec!{bytes:?} }}"),
            Insert { at, bytes } => write!(f, "Insert {{ at: {at}, bytes: vec!{bytes:?} }}"),
            Delete { at, len } => write!(f, "Delete {{ at: {at}, len: {len} }}"),
            Truncate { len } => write!(f, "Truncate {{ len: {len} }}"),
        }
    }
}

impl fmt::Debug for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Mutation {
    /// Applies the edit in place.
    pub fn apply_to(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Flip { at, bit } => {
                if let Some(b) = bytes.get_mut(*at) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Set { at, value } => {
                if let Some(b) = bytes.get_mut(*at) {
                    *b = *value;
                }
            }
            Write { at, bytes: new } => {
                for (i, &b) in new.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = b;
                    }
                }
            }
            Insert { at, bytes: new } => {
                let at = (*at).min(len);
                bytes.splice(at..at, new.iter().copied());
            }
            Delete { at, len: n } => {
                let at = (*at).min(len);
                let end = at.saturating_add(*n).min(len);
                bytes.drain(at..end);
            }
            Truncate { len: n } => bytes.truncate(*n),
        }
    }
}

/// `bytes` with every mutation applied in order.
pub fn apply(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in mutations {
        m.apply_to(&mut out);
    }
    out
}

/// The mutations as a Rust slice expression.
pub fn show(mutations: &[Mutation]) -> String {
    let parts: Vec<String> = mutations.iter().map(ToString::to_string).collect();
    format!("&[{}]", parts.join(", "))
}

/// A valid input to mutate, and where its structure is.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its name in reports.
    pub name: String,
    /// The valid bytes.
    pub bytes: Vec<u8>,
    /// Byte ranges holding headers, tables, lengths: most mutations land here.
    pub hot: Vec<Range<usize>>,
    /// Integer fields `(offset, width in bytes)`: overwritten with extreme values.
    pub fields: Vec<(usize, usize)>,
    /// The structure is text (an NPY header, JSON): insert and overwrite with tokens too.
    pub text: bool,
    /// Positions where every token is inserted and written (a shape's digits, a JSON value),
    /// each with where to delete as many bytes again (padding), if the length must not change.
    pub spots: Vec<(usize, Option<usize>)>,
}

/// A `.npy` file of `header` and `data`.
pub fn npy(header: &npy_format::Header, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    npy_format::write_raw(&mut bytes, header, data).unwrap();
    bytes
}

/// A header of `descr` (as numpy writes it), order and shape.
pub fn header(descr: &str, fortran: bool, shape: &[u64]) -> npy_format::Header {
    npy_format::Header::new(
        npy_format::DType::parse(descr).unwrap(),
        fortran,
        shape.to_vec(),
    )
}

/// A sample of a whole `.npy` file: its header is the hot region, with the length field as a
/// field, as text, and with balanced edits inside the shape tuple and the descr (the padding
/// before the header's newline takes up what is inserted, so the data stays where the length
/// field says).
pub fn npy_sample(name: impl Into<String>, bytes: Vec<u8>) -> Sample {
    // The header as it parses, even for a crashed file (whose data is longer).
    let data_offset = npy_format::Header::from_bytes(&bytes)
        .expect("a sample's header parses")
        .data_offset as usize;
    let after = |key: &[u8]| {
        bytes
            .windows(key.len())
            .position(|w| w == key)
            .map_or(0, |at| at + key.len())
    };
    let (shape, descr) = (after(b"'shape': ("), after(b"'descr': "));
    let len_width = if bytes[6] == 1 { 2 } else { 4 };
    let pad = data_offset - 1;
    Sample::new(name, bytes)
        .hot(0..data_offset)
        .field(8, len_width)
        .text()
        .spot_balanced(shape, pad)
        .spot_balanced(descr, pad)
}

impl Sample {
    /// A sample with no structure marked yet.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Sample {
        Sample {
            name: name.into(),
            bytes,
            hot: Vec::new(),
            fields: Vec::new(),
            text: false,
            spots: Vec::new(),
        }
    }

    /// Adds a position for [`Sample::spot_edits`].
    pub fn spot(mut self, at: usize) -> Sample {
        self.spots.push((at, None));
        self
    }

    /// Adds a position for [`Sample::spot_edits`] whose insertions are balanced by deleting as
    /// many bytes at `pad` (after `at`): the input keeps its length, so the offsets of the
    /// structure around it (a zip directory, an NPY header length) stay valid.
    pub fn spot_balanced(mut self, at: usize, pad: usize) -> Sample {
        self.spots.push((at, Some(pad)));
        self
    }

    /// Every token inserted at, and written over, every spot.
    pub fn spot_edits(&self) -> Vec<Vec<Mutation>> {
        let mut out = Vec::new();
        for &(at, pad) in &self.spots {
            for token in TOKENS {
                let bytes = token.as_bytes().to_vec();
                let len = bytes.len();
                out.push(vec![Insert {
                    at,
                    bytes: bytes.clone(),
                }]);
                if let Some(pad) = pad {
                    out.push(vec![
                        Insert {
                            at,
                            bytes: bytes.clone(),
                        },
                        Delete { at: pad, len },
                    ]);
                }
                out.push(vec![Write { at, bytes }]);
            }
        }
        out
    }

    /// Marks `range` as structure (headers, tables): most mutations land there.
    pub fn hot(mut self, range: Range<usize>) -> Sample {
        self.hot.push(range);
        self
    }

    /// Marks a length or offset field of `width` bytes at `offset`, set to extreme values.
    pub fn field(mut self, offset: usize, width: usize) -> Sample {
        self.fields.push((offset, width));
        self
    }

    /// Marks the sample as text (shape tokens are inserted into it).
    pub fn text(mut self) -> Sample {
        self.text = true;
        self
    }

    /// Every byte of the hot ranges flipped (bits 0 and 7) and set to 0x00 and 0xff.
    pub fn byte_edits(&self) -> Vec<Vec<Mutation>> {
        let mut out = Vec::new();
        for range in &self.hot {
            for at in range.clone().filter(|&at| at < self.bytes.len()) {
                out.push(vec![Flip { at, bit: 0 }]);
                out.push(vec![Flip { at, bit: 7 }]);
                out.push(vec![Set { at, value: 0 }]);
                out.push(vec![Set { at, value: 0xff }]);
            }
        }
        out
    }

    /// Truncations at every offset (at most `max` of them, evenly spread, always including
    /// the last few bytes).
    pub fn truncations(&self, max: usize) -> Vec<Vec<Mutation>> {
        let len = self.bytes.len();
        let step = len.div_ceil(max.max(1)).max(1);
        let mut lens: Vec<usize> = (0..len).step_by(step).collect();
        lens.extend(len.saturating_sub(8)..len);
        lens.sort_unstable();
        lens.dedup();
        lens.into_iter().map(|len| vec![Truncate { len }]).collect()
    }

    /// Every integer field set to each extreme value.
    pub fn field_edits(&self) -> Vec<Vec<Mutation>> {
        let mut out = Vec::new();
        for &(at, width) in &self.fields {
            for value in interesting_values(width, self.bytes.len()) {
                out.push(vec![Write {
                    at,
                    bytes: value[..width].to_vec(),
                }]);
            }
        }
        out
    }

    /// `n` random lists of 1 to 3 mutations from `seed` (times `MUTATION_SCALE`, and with
    /// `MUTATION_SEED` mixed into the seed, when those are set: longer or different runs).
    pub fn random_edits(&self, seed: u64, n: usize) -> Vec<Vec<Mutation>> {
        let n = n * env_number("MUTATION_SCALE").map_or(1, |s| s.max(1) as usize);
        let seed = seed ^ env_number("MUTATION_SEED").unwrap_or(0);
        let mut rng = Rng(seed ^ fnv(self.name.as_bytes()));
        (0..n)
            .map(|_| {
                let count = 1 + rng.index(3);
                (0..count).map(|_| self.random_mutation(&mut rng)).collect()
            })
            .collect()
    }

    fn random_position(&self, rng: &mut Rng) -> usize {
        let hot: Vec<&Range<usize>> = self.hot.iter().filter(|r| !r.is_empty()).collect();
        if !hot.is_empty() && rng.index(10) < 7 {
            let r = *rng.pick(&hot);
            r.start + rng.index(r.len())
        } else {
            rng.index(self.bytes.len() + 1)
        }
    }

    fn random_mutation(&self, rng: &mut Rng) -> Mutation {
        let at = self.random_position(rng);
        let kinds = if self.text { 9 } else { 8 };
        match rng.index(kinds) {
            0 | 1 => Flip {
                at,
                bit: rng.index(8) as u8,
            },
            2 => Set {
                at,
                value: *rng.pick(&[0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x30, 0x39]),
            },
            3 => {
                let width = *rng.pick(&[2, 4, 8]);
                let values = interesting_values(width, self.bytes.len());
                let value = rng.pick(&values);
                let at = match self.fields.is_empty() || rng.index(2) == 0 {
                    true => at,
                    false => rng.pick(&self.fields).0,
                };
                Write {
                    at,
                    bytes: value[..width].to_vec(),
                }
            }
            4 => {
                let n = 1 + rng.index(16);
                Insert {
                    at,
                    bytes: (0..n).map(|_| rng.next() as u8).collect(),
                }
            }
            5 => Delete {
                at,
                len: 1 + rng.index(16),
            },
            6 => Truncate {
                len: rng.index(self.bytes.len() + 1),
            },
            7 => Set {
                at,
                value: rng.next() as u8,
            },
            _ => {
                let token = rng.pick(TOKENS).as_bytes().to_vec();
                if rng.index(2) == 0 {
                    Insert { at, bytes: token }
                } else {
                    Write { at, bytes: token }
                }
            }
        }
    }

    /// Every kind of case: byte edits of the hot ranges, truncations, field edits, spot edits
    /// and `random` random lists.
    pub fn all_edits(&self, seed: u64, truncations: usize, random: usize) -> Vec<Vec<Mutation>> {
        let mut out = self.byte_edits();
        out.extend(self.truncations(truncations));
        out.extend(self.field_edits());
        out.extend(self.spot_edits());
        out.extend(self.random_edits(seed, random));
        out
    }
}

/// Tokens of the text formats (NPY header dicts, JSON manifests).
const TOKENS: &[&str] = &[
    "9",
    "0",
    "-1",
    "99999999999999999999",
    "18446744073709551615",
    "1e308",
    "(",
    ")",
    ",",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    ":",
    "\\",
    "\n",
    " ",
    "True",
    "False",
    "None",
    "null",
    "L",
    "<",
    ">",
    "|",
    "=",
    "'<f8'",
    "'|O'",
    "'V'",
    "(1,)",
    "2**64",
    "\"shape\"",
    "\"dtype\"",
    "[[[[",
    "((((((((",
    "\u{e9}",
    "\u{ffff}",
    "65536",
    "1048576",
    "4294967296",
    "1099511627776",
    "281474976710656",
];

/// Little-endian bytes (8 of them; the first `width` are used) of values that break length
/// fields: 0, 1, all ones, the signed extremes, 2^32, 2^60, and the input length around.
fn interesting_values(width: usize, input_len: usize) -> Vec<[u8; 8]> {
    let bits = (width * 8) as u32;
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let len = input_len as u64;
    let mut values = vec![
        0,
        1,
        max,
        max - 1,
        max >> 1,
        (max >> 1) + 1,
        len,
        len + 1,
        len.saturating_sub(1),
        len / 2,
    ];
    if bits > 32 {
        values.extend([1 << 32, u64::from(u32::MAX), 1 << 60, 1 << 40]);
    }
    values.iter().map(|v| (v & max).to_le_bytes()).collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
