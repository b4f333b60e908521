//! AlignedBinaryFormat (`.abf`, the Julia package) files read into a [`Varpack`].
//!
//! The layout, as AlignedBinaryFormat.jl v0.7 writes it (its README's layout is older): records
//! one after the other, no header or index. A record is an endian flag byte (`0x00` little,
//! `0xFF` big), a label and a type string, then by type:
//!
//! - `Array{T,N}`: N `Int64` dims (column-major, the first varying fastest), zero padding to a
//!   multiple of `sizeof(T)` (absolute file offset), then the elements in column-major order.
//! - `BitArray{N}`: N dims, padding to 8, then `ceil(len/64)` `UInt64` chunks, bits LSB first.
//! - `String`: a string.
//! - `DataType`, `AbfSerializer{...}`: an `Int64` byte count and a Julia `Serialization`
//!   stream, which only Julia reads.
//!
//! A string is an `Int64` that is 4 x its number of characters (not bytes), then the
//! characters in UTF-8. Integers are in the record's byte order.
//!
//! Arrays become Fortran-order arrays of the same shape (numpy's view of column-major data),
//! in the file's byte order; `Bool` is `|b1`, a `BitArray` is unpacked to `|b1`, a `Char`
//! array (Julia's UTF-8-in-a-word representation) becomes `<U1`, strings become JSON strings.
//! 128-bit integers (numpy has no such dtype) and serialized values are refused, naming the
//! label, unless serialized values are skipped on request.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use npy_format::{DType, Header};

use super::{Collector, ConvertError, ConvertErrorKind, ConvertOptions, Converted, io};
use crate::Array;

/// What a record holds.
enum Record {
    Array {
        dims: Vec<u64>,
        elem: Elem,
    },
    Bits {
        dims: Vec<u64>,
    },
    Text,
    /// A Julia `Serialization` stream (its type named).
    Serialized(String),
}

/// A Julia element type and its numpy descr (byte order added by the record's flag).
#[derive(Clone, Copy)]
struct Elem {
    size: u64,
    /// The descr without its byte order (`f8`, `b1`, ...); `None` for `Char`.
    descr: Option<&'static str>,
}

/// Julia element types AlignedBinaryFormat writes, with their numpy dtype.
fn elem(name: &str) -> Result<Elem, &'static str> {
    let (size, descr) = match name {
        "Float16" => (2, "f2"),
        "Float32" => (4, "f4"),
        "Float64" => (8, "f8"),
        "Bool" => (1, "b1"),
        "Int8" => (1, "i1"),
        "UInt8" => (1, "u1"),
        "Int16" => (2, "i2"),
        "UInt16" => (2, "u2"),
        "Int32" => (4, "i4"),
        "UInt32" => (4, "u4"),
        "Int64" => (8, "i8"),
        "UInt64" => (8, "u8"),
        "Char" => {
            return Ok(Elem {
                size: 4,
                descr: None,
            });
        }
        "Int128" | "UInt128" => return Err("128-bit integers have no numpy dtype"),
        _ => return Err("an element type AlignedBinaryFormat does not write"),
    };
    Ok(Elem {
        size,
        descr: Some(descr),
    })
}

/// Reads the `.abf` file at `path` into memory, one value per label.
pub(super) fn read(path: &Path, options: &ConvertOptions) -> Result<Converted, ConvertError> {
    let err = |kind| ConvertError::new(path, kind);
    let file = File::open(path).map_err(io(path))?;
    let len = file.metadata().map_err(io(path))?.len();
    let mut reader = AbfReader {
        input: BufReader::with_capacity(1 << 20, file),
        pos: 0,
        len,
        big: false,
    };
    let mut out = Collector::new(options);
    while reader.pos < len {
        let start = reader.pos;
        reader.big = match reader.u8().map_err(err)? {
            0x00 => false,
            0xFF => true,
            other => {
                let reason =
                    format!("endian flag {other:#04x}, not 0x00 or 0xff: not an .abf record");
                return Err(err(ConvertErrorKind::Corrupt {
                    offset: start,
                    reason,
                }));
            }
        };
        let label = reader.string().map_err(err)?;
        let value = match reader.record_type().map_err(err)? {
            Ok(Record::Text) => Ok(serde_json::Value::String(reader.string().map_err(err)?).into()),
            Ok(Record::Serialized(ty)) => {
                let n = reader.i64().map_err(err)?;
                let n = u64::try_from(n)
                    .map_err(|_| err(reader.corrupt(format!("serialized value of {n} bytes"))))?;
                reader.skip_to(reader.pos.saturating_add(n)).map_err(err)?;
                Err(format!(
                    "a Julia-serialized {ty}, which only Julia reads (store it as an array or a string)"
                ))
            }
            Ok(Record::Array { dims, elem }) => Ok(reader.array(&dims, elem).map_err(err)?.into()),
            Ok(Record::Bits { dims }) => Ok(reader.bits(&dims).map_err(err)?.into()),
            // A type numpy has no dtype for: its bytes cannot be skipped without knowing its
            // layout, so it ends the file whatever the options say.
            Err(reason) => {
                let name = label;
                return Err(err(ConvertErrorKind::Unsupported { name, reason }));
            }
        };
        out.add(path, &label, value)?;
    }
    Ok(out.finish())
}

/// The file being read, its position tracked (alignment is to absolute offsets).
struct AbfReader {
    input: BufReader<File>,
    pos: u64,
    len: u64,
    /// The current record's byte order.
    big: bool,
}

impl AbfReader {
    fn corrupt(&self, reason: String) -> ConvertErrorKind {
        ConvertErrorKind::Corrupt {
            offset: self.pos,
            reason,
        }
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), ConvertErrorKind> {
        if self.pos.saturating_add(buf.len() as u64) > self.len {
            return Err(self.corrupt(format!(
                "a record needs {} bytes here, the file ends {} bytes on (cut short?)",
                buf.len(),
                self.len - self.pos
            )));
        }
        self.input.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, ConvertErrorKind> {
        let mut b = [0u8];
        self.exact(&mut b)?;
        Ok(b[0])
    }

    fn i64(&mut self) -> Result<i64, ConvertErrorKind> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(if self.big {
            i64::from_be_bytes(b)
        } else {
            i64::from_le_bytes(b)
        })
    }

    fn skip_to(&mut self, to: u64) -> Result<(), ConvertErrorKind> {
        if to > self.len {
            return Err(self.corrupt(format!("a record runs to offset {to}, past the end")));
        }
        self.input.seek(SeekFrom::Start(to))?;
        self.pos = to;
        Ok(())
    }

    /// A string: 4 x its character count, then that many UTF-8 characters.
    fn string(&mut self) -> Result<String, ConvertErrorKind> {
        let n = self.i64()?;
        if n < 0 || n % 4 != 0 {
            return Err(self.corrupt(format!("string length {n} is not 4 x a character count")));
        }
        // Grown as characters are read: a corrupt count cannot allocate ahead of the file.
        let mut out = String::new();
        for _ in 0..n / 4 {
            let first = self.u8()?;
            let width = utf8_width(first).ok_or_else(|| {
                self.corrupt(format!("byte {first:#04x} starts no UTF-8 character"))
            })?;
            let mut bytes = [first, 0, 0, 0];
            self.exact(&mut bytes[1..width])?;
            let c = std::str::from_utf8(&bytes[..width])
                .map_err(|_| self.corrupt("invalid UTF-8 in a string".into()))?;
            out.push_str(c);
        }
        Ok(out)
    }

    /// The record's type: `Err(reason)` for one numpy cannot hold.
    fn record_type(&mut self) -> Result<Result<Record, String>, ConvertErrorKind> {
        let ty = self.string()?;
        let unsupported = |reason: &str| Ok(Err(format!("type {ty}: {reason}")));
        if ty == "String" {
            return Ok(Ok(Record::Text));
        }
        if ty == "DataType" || ty.starts_with("AbfSerializer{") {
            return Ok(Ok(Record::Serialized(ty)));
        }
        let Some((kind, n)) = (ty.strip_prefix("BitArray{").map(|r| (None, r)))
            .or_else(|| {
                let rest = ty.strip_prefix("Array{")?;
                let (t, n) = rest.split_once(',')?;
                Some((Some(t), n))
            })
            .and_then(|(kind, r)| Some((kind, r.strip_suffix('}')?)))
        else {
            return unsupported("not a type AlignedBinaryFormat writes");
        };
        let Some(n) = n.parse::<usize>().ok().filter(|&n| n <= 64) else {
            return unsupported("not a dimension count numpy holds");
        };
        let elem = match kind.map(elem) {
            Some(Err(reason)) => return unsupported(reason),
            Some(Ok(elem)) => Some(elem),
            None => None,
        };
        let dims = (0..n)
            .map(|_| {
                let d = self.i64()?;
                u64::try_from(d).map_err(|_| self.corrupt(format!("dimension {d}")))
            })
            .collect::<Result<Vec<u64>, _>>()?;
        Ok(Ok(match elem {
            Some(elem) => Record::Array { dims, elem },
            None => Record::Bits { dims },
        }))
    }

    /// Elements after padding to `align`: the byte count of `dims` elements of `size` bytes.
    fn data(&mut self, dims: &[u64], size: u64, align: u64) -> Result<Vec<u8>, ConvertErrorKind> {
        let count = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        let bytes = count
            .and_then(|n| n.checked_mul(size))
            .filter(|&b| b <= self.len)
            .ok_or_else(|| {
                self.corrupt(format!("dims {dims:?} need more bytes than the file has"))
            })?;
        if bytes == 0 {
            // The writer pads by seeking, which writes nothing for an empty array: the next
            // record starts right here, not at the padded offset.
            return Ok(Vec::new());
        }
        self.skip_to(self.pos.div_ceil(align) * align)?;
        let mut data = vec![0u8; bytes as usize];
        self.exact(&mut data)?;
        Ok(data)
    }

    fn array(&mut self, dims: &[u64], elem: Elem) -> Result<Array, ConvertErrorKind> {
        let data = self.data(dims, elem.size, elem.size)?;
        let order = if self.big { '>' } else { '<' };
        let (descr, data) = match elem.descr {
            Some(d) if elem.size == 1 => (format!("|{d}"), data),
            Some(d) => (format!("{order}{d}"), data),
            None => ("<U1".to_owned(), self.chars(&data)?),
        };
        self.fortran_array(&descr, dims, &data)
    }

    /// Julia `Char`s (UTF-8 bytes left-aligned in a 32-bit word) as UTF-32LE code points.
    fn chars(&self, data: &[u8]) -> Result<Vec<u8>, ConvertErrorKind> {
        let mut out = Vec::with_capacity(data.len());
        for word in data.chunks_exact(4) {
            let word: [u8; 4] = word.try_into().unwrap_or_default();
            let value = if self.big {
                u32::from_be_bytes(word)
            } else {
                u32::from_le_bytes(word)
            };
            let bytes = value.to_be_bytes();
            let width = utf8_width(bytes[0]).unwrap_or(0);
            let c = std::str::from_utf8(&bytes[..width.max(1)])
                .ok()
                .and_then(|s| s.chars().next())
                .filter(|_| width > 0)
                .ok_or_else(|| self.corrupt(format!("Char {value:#010x} is not a character")))?;
            out.extend_from_slice(&u32::from(c).to_le_bytes());
        }
        Ok(out)
    }

    fn bits(&mut self, dims: &[u64]) -> Result<Array, ConvertErrorKind> {
        let count = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .ok_or_else(|| self.corrupt(format!("dims {dims:?} overflow")))?;
        let chunks = count.div_ceil(64);
        let data = self.data(&[chunks], 8, 8)?;
        let bit = |i: u64| {
            let chunk = &data[(i / 64 * 8) as usize..][..8];
            let byte = if self.big {
                7 - (i % 64) / 8
            } else {
                (i % 64) / 8
            };
            (chunk[byte as usize] >> (i % 8)) & 1
        };
        let bools: Vec<u8> = (0..count).map(bit).collect();
        self.fortran_array("|b1", dims, &bools)
    }

    /// A column-major array of numpy dtype `descr` (numpy's Fortran order).
    fn fortran_array(
        &self,
        descr: &str,
        dims: &[u64],
        data: &[u8],
    ) -> Result<Array, ConvertErrorKind> {
        let dtype = DType::parse(descr).map_err(|e| self.corrupt(e.to_string()))?;
        let header = Header::new(dtype, true, dims.to_vec());
        Array::from_bytes(header, data).map_err(|e| self.corrupt(e.to_string()))
    }
}

/// The byte length of the UTF-8 character `first` starts (`None` for a continuation or invalid
/// byte).
fn utf8_width(first: u8) -> Option<usize> {
    match first {
        0x00..=0x7F => Some(1),
        0xC2..=0xDF => Some(2),
        0xE0..=0xEF => Some(3),
        0xF0..=0xF4 => Some(4),
        _ => None,
    }
}
