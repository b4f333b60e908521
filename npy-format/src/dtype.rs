//! numpy dtypes as NPY headers describe them (the `descr` grammar), parsed and printed exactly.
//!
//! A descr is either a type string such as `'<f8'`, `'|S5'` or `'<M8[ns]'`, or, for structured
//! dtypes, a list of fields: `(name, fmt)`, `(name, fmt, shape)`, `((title, name), fmt)`, with
//! nested lists for nested records and `('', '|Vn')` entries for padding. [`DType::parse`] accepts
//! what numpy's reader accepts; [`DType::descr`] prints what `np.save` prints.
//!
//! | numpy descr | kind | Rust element |
//! |---|---|---|
//! | `\|b1` | [`ScalarKind::Bool`] | `bool` |
//! | `\|i1` `<i2` `<i4` `<i8` | [`ScalarKind::Int`] | `i8` `i16` `i32` `i64` |
//! | `\|u1` `<u2` `<u4` `<u8` | [`ScalarKind::UInt`] | `u8` `u16` `u32` `u64` |
//! | `<f2` `<f4` `<f8` `<f16` | [`ScalarKind::Float`] | `half::f16` (feature `half`), `f32`, `f64`, — |
//! | `<c8` `<c16` `<c32` | [`ScalarKind::Complex`] | `Complex<f32>`, `Complex<f64>` (feature `num-complex`), — |
//! | `\|S<n>` `\|V<n>` | [`ScalarKind::Bytes`], [`ScalarKind::Void`] | `[u8; n]` |
//! | `<U<n>` | [`ScalarKind::Unicode`] | (raw bytes: n UTF-32 code units) |
//! | `<M8[unit]` `<m8[unit]` | [`ScalarKind::DateTime`], [`ScalarKind::TimeDelta`] | (raw bytes: `i64` ticks) |
//! | `\|O` | [`ScalarKind::Object`] | never read: a pickle |

use std::fmt;

use crate::error::DescrError;
use crate::literal::{self, PyValue};

/// The byte order of a scalar type.
///
/// ```
/// use npy_format::{ByteOrder, DType};
/// let big = DType::parse(">f8").unwrap();
/// assert_eq!(big.as_scalar().unwrap().byte_order, ByteOrder::Big);
/// let byte = DType::parse("<u1").unwrap(); // one byte: numpy normalises to '|'
/// assert_eq!(byte.as_scalar().unwrap().byte_order, ByteOrder::NotApplicable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
    /// `|`: single bytes, strings of bytes, void and object types have no byte order.
    NotApplicable,
}

impl ByteOrder {
    /// The byte order of the machine this code runs on.
    ///
    /// ```
    /// # use npy_format::ByteOrder;
    /// assert_ne!(ByteOrder::NATIVE, ByteOrder::NotApplicable);
    /// ```
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };

    /// The character numpy writes: `<`, `>` or `|`.
    ///
    /// ```
    /// assert_eq!(npy_format::ByteOrder::Big.as_char(), '>');
    /// ```
    pub fn as_char(self) -> char {
        match self {
            ByteOrder::Little => '<',
            ByteOrder::Big => '>',
            ByteOrder::NotApplicable => '|',
        }
    }

    /// Whether data in this order can be used as is on this machine.
    ///
    /// ```
    /// # use npy_format::ByteOrder;
    /// assert!(ByteOrder::NotApplicable.is_native());
    /// assert!(ByteOrder::NATIVE.is_native());
    /// ```
    pub fn is_native(self) -> bool {
        self == ByteOrder::NotApplicable || self == ByteOrder::NATIVE
    }
}

/// The unit of a `datetime64` or `timedelta64`.
///
/// ```
/// use npy_format::{DType, ScalarKind, TimeUnit};
/// let dt = DType::parse("<m8[10ms]").unwrap();
/// let kind = ScalarKind::TimeDelta { unit: TimeUnit::Milliseconds, multiplier: 10 };
/// assert_eq!(dt.as_scalar().unwrap().kind, kind);
/// assert!(matches!(
///     DType::parse("<M8").unwrap().as_scalar().unwrap().kind,
///     ScalarKind::DateTime { unit: TimeUnit::Generic, .. }
/// ));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeUnit {
    /// No unit (`M8`), numpy's generic unit.
    Generic,
    /// `Y`
    Years,
    /// `M`
    Months,
    /// `W`
    Weeks,
    /// `D`
    Days,
    /// `h`
    Hours,
    /// `m`
    Minutes,
    /// `s`
    Seconds,
    /// `ms`
    Milliseconds,
    /// `us` (numpy also reads `μs`)
    Microseconds,
    /// `ns`
    Nanoseconds,
    /// `ps`
    Picoseconds,
    /// `fs`
    Femtoseconds,
    /// `as`
    Attoseconds,
}

impl TimeUnit {
    const ALL: [(TimeUnit, &'static str); 13] = [
        (TimeUnit::Years, "Y"),
        (TimeUnit::Months, "M"),
        (TimeUnit::Weeks, "W"),
        (TimeUnit::Days, "D"),
        (TimeUnit::Hours, "h"),
        (TimeUnit::Minutes, "m"),
        (TimeUnit::Seconds, "s"),
        (TimeUnit::Milliseconds, "ms"),
        (TimeUnit::Microseconds, "us"),
        (TimeUnit::Nanoseconds, "ns"),
        (TimeUnit::Picoseconds, "ps"),
        (TimeUnit::Femtoseconds, "fs"),
        (TimeUnit::Attoseconds, "as"),
    ];

    /// numpy's code for the unit (`""` for generic).
    ///
    /// ```
    /// assert_eq!(npy_format::TimeUnit::Nanoseconds.code(), "ns");
    /// ```
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(unit, _)| *unit == self)
            .map_or("", |(_, code)| code)
    }

    fn from_code(code: &str) -> Option<TimeUnit> {
        if code == "μs" {
            return Some(TimeUnit::Microseconds);
        }
        Self::ALL
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(unit, _)| *unit)
    }
}

/// What a scalar type holds.
///
/// ```
/// use npy_format::{DType, ScalarKind};
/// let kind = |descr| DType::parse(descr).unwrap().as_scalar().unwrap().kind;
/// assert_eq!(kind("|b1"), ScalarKind::Bool);
/// assert_eq!(kind("<U3"), ScalarKind::Unicode);
/// assert_eq!(kind("|S5"), ScalarKind::Bytes);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScalarKind {
    /// `b1`: one byte, 0 or 1.
    Bool,
    /// `i1`..`i8`
    Int,
    /// `u1`..`u8`
    UInt,
    /// `f2`, `f4`, `f8`, `f16` (x87 long double padded to 16 bytes)
    Float,
    /// `c8`, `c16`, `c32`
    Complex,
    /// `S<n>`: n bytes, NUL-padded.
    Bytes,
    /// `U<n>`: n UTF-32 code units (4n bytes).
    Unicode,
    /// `V<n>`: n raw bytes.
    Void,
    /// `M8[unit]`: a signed 64-bit count of `multiplier` units since the epoch.
    DateTime {
        /// The unit.
        unit: TimeUnit,
        /// How many units one tick is (`M8[25s]` has 25); 1 when the unit is written alone.
        multiplier: u32,
    },
    /// `m8[unit]`: a signed 64-bit count of `multiplier` units.
    TimeDelta {
        /// The unit.
        unit: TimeUnit,
        /// How many units one tick is.
        multiplier: u32,
    },
    /// `O`: a Python object reference; NPY stores such arrays as pickles.
    Object,
}

/// A non-structured dtype: a kind, a byte order and an item size in bytes.
///
/// ```
/// use npy_format::{ByteOrder, DType, ScalarKind};
/// let s = *DType::parse("<U3").unwrap().as_scalar().unwrap();
/// assert_eq!(s.kind, ScalarKind::Unicode);
/// assert_eq!(s.byte_order, ByteOrder::Little);
/// assert_eq!(s.size, 12); // 3 UTF-32 code units
/// assert_eq!(s.type_str(), "<U3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    /// What the bytes hold.
    pub kind: ScalarKind,
    /// The byte order (always [`ByteOrder::NotApplicable`] for one-byte, `S`, `V` and `O` types).
    pub byte_order: ByteOrder,
    /// Bytes per item (for `U<n>` that is `4 * n`).
    pub size: usize,
}

impl Scalar {
    /// A scalar in native byte order, normalised as numpy would (`|` where order does not apply).
    ///
    /// ```
    /// # use npy_format::{Scalar, ScalarKind};
    /// assert_eq!(Scalar::native(ScalarKind::Int, 1).byte_order, npy_format::ByteOrder::NotApplicable);
    /// ```
    pub fn native(kind: ScalarKind, size: usize) -> Scalar {
        Scalar::new(kind, ByteOrder::NATIVE, size)
    }

    /// A scalar with the given byte order, normalised as numpy would.
    ///
    /// ```
    /// # use npy_format::{ByteOrder, DType, Scalar, ScalarKind};
    /// let be = Scalar::new(ScalarKind::Float, ByteOrder::Big, 4);
    /// assert_eq!(DType::Scalar(be).descr(), "'>f4'");
    /// ```
    pub fn new(kind: ScalarKind, byte_order: ByteOrder, size: usize) -> Scalar {
        let no_order = match kind {
            ScalarKind::Bytes | ScalarKind::Void | ScalarKind::Object => true,
            ScalarKind::Bool | ScalarKind::Int | ScalarKind::UInt => size <= 1,
            _ => false,
        };
        let byte_order = match (no_order, byte_order) {
            (true, _) => ByteOrder::NotApplicable,
            (false, ByteOrder::NotApplicable) => ByteOrder::NATIVE,
            (false, order) => order,
        };
        Scalar {
            kind,
            byte_order,
            size,
        }
    }

    /// The size of one component to byte-swap: the whole item, a complex number's halves, a UTF-32
    /// code unit, or 1 for types without byte order.
    ///
    /// ```
    /// # use npy_format::{Scalar, ScalarKind};
    /// assert_eq!(Scalar::native(ScalarKind::Complex, 16).swap_unit(), 8);
    /// ```
    pub fn swap_unit(&self) -> usize {
        match self.kind {
            _ if self.byte_order == ByteOrder::NotApplicable => 1,
            ScalarKind::Complex => self.size / 2,
            ScalarKind::Unicode => 4,
            _ => self.size,
        }
    }

    fn write_type_str(&self, out: &mut String) {
        use std::fmt::Write as _;
        out.push(self.byte_order.as_char());
        let _ = match self.kind {
            ScalarKind::Bool => write!(out, "b{}", self.size),
            ScalarKind::Int => write!(out, "i{}", self.size),
            ScalarKind::UInt => write!(out, "u{}", self.size),
            ScalarKind::Float => write!(out, "f{}", self.size),
            ScalarKind::Complex => write!(out, "c{}", self.size),
            ScalarKind::Bytes => write!(out, "S{}", self.size),
            ScalarKind::Unicode => write!(out, "U{}", self.size / 4),
            ScalarKind::Void => write!(out, "V{}", self.size),
            ScalarKind::Object => write!(out, "O"),
            ScalarKind::DateTime { unit, multiplier } => write_time(out, 'M', unit, multiplier),
            ScalarKind::TimeDelta { unit, multiplier } => write_time(out, 'm', unit, multiplier),
        };
    }

    /// numpy's type string, e.g. `<f8`, `|S5`, `<M8[ns]`.
    ///
    /// ```
    /// # use npy_format::{Scalar, ScalarKind, TimeUnit};
    /// let dt = Scalar::native(ScalarKind::DateTime { unit: TimeUnit::Seconds, multiplier: 25 }, 8);
    /// assert!(dt.type_str().ends_with("M8[25s]"));
    /// ```
    pub fn type_str(&self) -> String {
        let mut out = String::new();
        self.write_type_str(&mut out);
        out
    }
}

fn write_time(out: &mut String, code: char, unit: TimeUnit, multiplier: u32) -> fmt::Result {
    use std::fmt::Write as _;
    match (unit, multiplier) {
        (TimeUnit::Generic, _) => write!(out, "{code}8"),
        (unit, 1) => write!(out, "{code}8[{}]", unit.code()),
        (unit, n) => write!(out, "{code}8[{n}{}]", unit.code()),
    }
}

/// One entry of a structured dtype's descr.
///
/// ```
/// use npy_format::DType;
/// let dt = DType::parse("[(('Speed', 'v'), '<f4', (3,))]").unwrap();
/// let DType::Record(fields) = &dt else { panic!("not a record") };
/// assert_eq!(fields[0].name, "v");
/// assert_eq!(fields[0].title.as_deref(), Some("Speed"));
/// assert_eq!(fields[0].shape, vec![3]);
/// assert_eq!(fields[0].itemsize(), 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field name; `""` for padding entries.
    pub name: String,
    /// The optional title (`((title, name), fmt)` in the descr).
    pub title: Option<String>,
    /// The field's dtype.
    pub dtype: DType,
    /// The sub-array shape (`(name, fmt, shape)`); empty for a plain field.
    pub shape: Vec<u64>,
}

impl Field {
    /// A plain field.
    ///
    /// ```
    /// # use npy_format::{DType, Field};
    /// let f = Field::new("x", DType::parse("<f4").unwrap());
    /// assert_eq!(f.itemsize(), 4);
    /// ```
    pub fn new(name: impl Into<String>, dtype: DType) -> Field {
        Field {
            name: name.into(),
            title: None,
            dtype,
            shape: Vec::new(),
        }
    }

    /// An unnamed `|V<n>` entry: bytes between fields that numpy keeps for alignment.
    ///
    /// ```
    /// assert!(npy_format::Field::padding(4).is_padding());
    /// ```
    pub fn padding(bytes: usize) -> Field {
        Field::new("", DType::Scalar(Scalar::native(ScalarKind::Void, bytes)))
    }

    /// Whether numpy treats this entry as padding: an empty name and a plain void type.
    ///
    /// ```
    /// # use npy_format::{DType, Field};
    /// assert!(!Field::new("", DType::parse("<i4").unwrap()).is_padding());
    /// ```
    pub fn is_padding(&self) -> bool {
        self.name.is_empty()
            && matches!(
                self.dtype,
                DType::Scalar(Scalar {
                    kind: ScalarKind::Void,
                    ..
                })
            )
    }

    /// Bytes the field takes in each record.
    ///
    /// ```
    /// # use npy_format::{DType, Field};
    /// let mut f = Field::new("m", DType::parse("<f8").unwrap());
    /// f.shape = vec![2, 3];
    /// assert_eq!(f.itemsize(), 48);
    /// ```
    pub fn itemsize(&self) -> usize {
        self.shape.iter().fold(self.dtype.itemsize(), |acc, &d| {
            acc.saturating_mul(d as usize)
        })
    }
}

/// A numpy dtype as an NPY header describes it.
///
/// ```
/// use npy_format::DType;
/// let dt = DType::parse("[('x', '<f4'), ('pos', '<i8', (3,))]").unwrap();
/// assert_eq!(dt.itemsize(), 4 + 24);
/// assert_eq!(dt.descr(), "[('x', '<f4'), ('pos', '<i8', (3,))]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DType {
    /// A type string such as `<f8`.
    Scalar(Scalar),
    /// A structured dtype: its fields in offset order, padding entries included.
    Record(Vec<Field>),
    /// A sub-array dtype `(fmt, shape)`. numpy never writes one at the top level, but reads it.
    SubArray(Box<DType>, Vec<u64>),
}

impl DType {
    /// Parses a descr from its Python-literal text: `'<f8'` (quoted), a bare type string `<f8`,
    /// or a field list.
    ///
    /// ```
    /// use npy_format::DType;
    /// assert_eq!(DType::parse("'<f8'").unwrap(), DType::parse("<f8").unwrap());
    /// assert!(DType::parse("[('a', '<i4'),]").is_ok());
    /// assert!(DType::parse("<q9").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<DType, DescrError> {
        let trimmed = text.trim();
        if !trimmed.starts_with(['[', '(', '\'', '"']) {
            return parse_type_str(trimmed).map(DType::Scalar);
        }
        let value = literal::parse(trimmed, false).map_err(|e| {
            DescrError::new(text, format!("{} at character {}", e.message, e.offset))
        })?;
        DType::from_py(&value, 0)
    }

    pub(crate) fn from_py(value: &PyValue, depth: usize) -> Result<DType, DescrError> {
        if depth > 32 {
            return Err(DescrError::new("...", "records nested more than 32 deep"));
        }
        match value {
            PyValue::Str(s) => parse_type_str(s).map(DType::Scalar),
            PyValue::Tuple(items) if items.len() == 2 => {
                let base = DType::from_py(&items[0], depth + 1)?;
                let shape = shape_from_py(&items[1], &describe(value))?;
                Ok(DType::SubArray(Box::new(base), shape).checked(value)?)
            }
            PyValue::List(entries) => {
                let mut fields = Vec::with_capacity(entries.len());
                for entry in entries {
                    fields.push(field_from_py(entry, depth)?);
                }
                let names: Vec<&str> = fields
                    .iter()
                    .filter(|f| !f.is_padding())
                    .flat_map(|f| std::iter::once(f.name.as_str()).chain(f.title.as_deref()))
                    .collect();
                for (i, name) in names.iter().enumerate() {
                    if names[..i].contains(name) {
                        return Err(DescrError::new(
                            describe(value),
                            format!(
                                "field name or title {} is used twice",
                                literal::repr_str(name)
                            ),
                        ));
                    }
                }
                DType::Record(fields).checked(value)
            }
            other => Err(DescrError::new(
                describe(other),
                format!(
                    "a descr is a str or a list of fields, not a {}",
                    other.type_name()
                ),
            )),
        }
    }

    /// Refuses dtypes whose item size overflows.
    fn checked(self, source: &PyValue) -> Result<DType, DescrError> {
        match self.checked_itemsize() {
            Some(size) if size <= isize::MAX as usize => Ok(self),
            _ => Err(DescrError::new(describe(source), "item size overflows")),
        }
    }

    fn checked_itemsize(&self) -> Option<usize> {
        fn times(size: usize, shape: &[u64]) -> Option<usize> {
            shape
                .iter()
                .try_fold(size, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?))
        }
        match self {
            DType::Scalar(s) => Some(s.size),
            DType::SubArray(base, shape) => times(base.checked_itemsize()?, shape),
            DType::Record(fields) => fields.iter().try_fold(0usize, |acc, f| {
                acc.checked_add(times(f.dtype.checked_itemsize()?, &f.shape)?)
            }),
        }
    }

    /// Bytes per element.
    ///
    /// ```
    /// assert_eq!(npy_format::DType::parse("<U5").unwrap().itemsize(), 20);
    /// ```
    pub fn itemsize(&self) -> usize {
        self.checked_itemsize().unwrap_or(usize::MAX)
    }

    /// Whether the dtype holds Python objects anywhere (such arrays are stored as pickles).
    ///
    /// ```
    /// assert!(npy_format::DType::parse("[('a', '|O')]").unwrap().has_object());
    /// ```
    pub fn has_object(&self) -> bool {
        match self {
            DType::Scalar(s) => s.kind == ScalarKind::Object,
            DType::SubArray(base, _) => base.has_object(),
            DType::Record(fields) => fields.iter().any(|f| f.dtype.has_object()),
        }
    }

    /// The scalar type, if this is not a structured or sub-array dtype.
    ///
    /// ```
    /// assert!(npy_format::DType::parse("<i2").unwrap().as_scalar().is_some());
    /// ```
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            DType::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The dtype numpy would hold after reading this descr, printed back as numpy prints it:
    /// padding entries merged and recomputed from field offsets, sub-array shapes of `()` dropped,
    /// nested sub-arrays flattened into the field's shape.
    ///
    /// ```
    /// use npy_format::DType;
    /// let dt = DType::parse("[('', '|V2'), ('', '|V2'), ('a', '<i4', ())]").unwrap();
    /// assert_eq!(dt.canonical().descr(), "[('', '|V4'), ('a', '<i4')]");
    /// ```
    pub fn canonical(&self) -> DType {
        match self {
            DType::Scalar(s) => DType::Scalar(*s),
            DType::SubArray(base, shape) => {
                let (base, inner) = base.canonical().split_subarray();
                let mut shape = shape.clone();
                shape.extend(inner);
                if shape.is_empty() {
                    base
                } else {
                    DType::SubArray(Box::new(base), shape)
                }
            }
            DType::Record(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                let mut pending_pad = 0usize;
                for field in fields {
                    if field.is_padding() {
                        pending_pad += field.itemsize();
                        continue;
                    }
                    if pending_pad > 0 {
                        out.push(Field::padding(pending_pad));
                        pending_pad = 0;
                    }
                    let (dtype, inner) = field.dtype.canonical().split_subarray();
                    let mut shape = field.shape.clone();
                    shape.extend(inner);
                    out.push(Field {
                        name: field.name.clone(),
                        title: field.title.clone(),
                        dtype,
                        shape,
                    });
                }
                if pending_pad > 0 {
                    out.push(Field::padding(pending_pad));
                }
                DType::Record(out)
            }
        }
    }

    fn split_subarray(self) -> (DType, Vec<u64>) {
        match self {
            DType::SubArray(base, shape) => (*base, shape),
            other => (other, Vec::new()),
        }
    }

    /// The descr as numpy's header prints it: `'<f8'`, or a list of field tuples.
    ///
    /// ```
    /// use npy_format::DType;
    /// let dt = DType::parse("[(('Title', 'n'), '>i2'), ('s', [('a', '|u1')])]").unwrap();
    /// assert_eq!(dt.descr(), "[(('Title', 'n'), '>i2'), ('s', [('a', '|u1')])]");
    /// ```
    pub fn descr(&self) -> String {
        let mut out = String::new();
        self.write_descr(&mut out);
        out
    }

    pub(crate) fn write_descr(&self, out: &mut String) {
        match self {
            DType::Scalar(s) => {
                out.push('\'');
                s.write_type_str(out);
                out.push('\'');
            }
            DType::SubArray(base, shape) => {
                out.push('(');
                base.write_descr(out);
                out.push_str(", ");
                literal::write_repr_tuple(out, shape);
                out.push(')');
            }
            DType::Record(fields) => {
                out.push('[');
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    match &field.title {
                        Some(title) => {
                            out.push('(');
                            literal::write_repr_str(out, title);
                            out.push_str(", ");
                            literal::write_repr_str(out, &field.name);
                            out.push(')');
                        }
                        None => literal::write_repr_str(out, &field.name),
                    }
                    out.push_str(", ");
                    field.dtype.write_descr(out);
                    if !field.shape.is_empty() {
                        out.push_str(", ");
                        literal::write_repr_tuple(out, &field.shape);
                    }
                    out.push(')');
                }
                out.push(']');
            }
        }
    }

    /// The descr as JSON text, the form `npy info --json` prints: a string for a type string, a list
    /// of `[name, fmt]` / `[name, fmt, shape]` for records, `[title, name]` for titled names, nested
    /// lists for nested records, and `[fmt, shape]` for a top-level sub-array.
    ///
    /// ```
    /// use npy_format::DType;
    /// assert_eq!(DType::parse("<f8").unwrap().descr_json(), r#""<f8""#);
    /// let dt = DType::parse("[(('T', 'a'), '<i4', (2,)), ('b', [('c', '|u1')])]").unwrap();
    /// assert_eq!(dt.descr_json(), r#"[[["T","a"],"<i4",[2]],["b",[["c","|u1"]]]]"#);
    /// ```
    pub fn descr_json(&self) -> String {
        let mut out = String::new();
        self.write_descr_json(&mut out);
        out
    }

    fn write_descr_json(&self, out: &mut String) {
        fn shape_json(out: &mut String, shape: &[u64]) {
            let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
            out.push('[');
            out.push_str(&dims.join(","));
            out.push(']');
        }
        match self {
            DType::Scalar(s) => write_json_str(out, &s.type_str()),
            DType::SubArray(base, shape) => {
                out.push('[');
                base.write_descr_json(out);
                out.push(',');
                shape_json(out, shape);
                out.push(']');
            }
            DType::Record(fields) => {
                out.push('[');
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('[');
                    match &field.title {
                        Some(title) => {
                            out.push('[');
                            write_json_str(out, title);
                            out.push(',');
                            write_json_str(out, &field.name);
                            out.push(']');
                        }
                        None => write_json_str(out, &field.name),
                    }
                    out.push(',');
                    field.dtype.write_descr_json(out);
                    if !field.shape.is_empty() {
                        out.push(',');
                        shape_json(out, &field.shape);
                    }
                    out.push(']');
                }
                out.push(']');
            }
        }
    }

    /// The same dtype with every multi-byte scalar in `order`.
    ///
    /// ```
    /// use npy_format::{ByteOrder, DType};
    /// let be = DType::parse("[('a', '<i4')]").unwrap().with_byte_order(ByteOrder::Big);
    /// assert_eq!(be.descr(), "[('a', '>i4')]");
    /// ```
    pub fn with_byte_order(&self, order: ByteOrder) -> DType {
        match self {
            DType::Scalar(s) => DType::Scalar(Scalar::new(s.kind, order, s.size)),
            DType::SubArray(base, shape) => {
                DType::SubArray(Box::new(base.with_byte_order(order)), shape.clone())
            }
            DType::Record(fields) => DType::Record(
                fields
                    .iter()
                    .map(|f| Field {
                        dtype: f.dtype.with_byte_order(order),
                        ..f.clone()
                    })
                    .collect(),
            ),
        }
    }

    /// Whether every scalar in the dtype can be used as is on this machine.
    ///
    /// ```
    /// assert!(!npy_format::DType::parse("[('a', '>f8')]").unwrap().is_native());
    /// ```
    pub fn is_native(&self) -> bool {
        match self {
            DType::Scalar(s) => s.byte_order.is_native(),
            DType::SubArray(base, _) => base.is_native(),
            DType::Record(fields) => fields.iter().all(|f| f.dtype.is_native()),
        }
    }

    /// Reverses the byte order of every multi-byte scalar in `data`, a whole number of elements
    /// of this dtype. Used to convert between byte orders.
    ///
    /// ```
    /// use npy_format::DType;
    /// let dt = DType::parse(">u2").unwrap();
    /// let mut data = [0x01, 0x02, 0x03, 0x04];
    /// dt.swap_bytes(&mut data);
    /// assert_eq!(data, [0x02, 0x01, 0x04, 0x03]);
    /// ```
    pub fn swap_bytes(&self, data: &mut [u8]) {
        let size = self.itemsize();
        if size == 0 {
            return;
        }
        for item in data.chunks_exact_mut(size) {
            self.swap_item(item);
        }
    }

    fn swap_item(&self, item: &mut [u8]) {
        match self {
            DType::Scalar(s) => {
                let unit = s.swap_unit();
                if unit > 1 {
                    item.chunks_exact_mut(unit).for_each(<[u8]>::reverse);
                }
            }
            DType::SubArray(base, _) => base.swap_bytes(item),
            DType::Record(fields) => {
                let mut offset = 0;
                for field in fields {
                    let len = field.itemsize();
                    field.dtype.swap_bytes(&mut item[offset..offset + len]);
                    offset += len;
                }
            }
        }
    }

    /// Whether every name and title is latin-1, so the header fits format 1.0 or 2.0.
    pub(crate) fn names_are_latin1(&self) -> bool {
        let latin1 = |s: &str| s.chars().all(|c| (c as u32) < 0x100);
        match self {
            DType::Scalar(_) => true,
            DType::SubArray(base, _) => base.names_are_latin1(),
            DType::Record(fields) => fields.iter().all(|f| {
                latin1(&f.name)
                    && f.title.as_deref().is_none_or(latin1)
                    && f.dtype.names_are_latin1()
            }),
        }
    }
}

impl fmt::Display for DType {
    /// The descr text, as in the header.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.descr())
    }
}

impl std::str::FromStr for DType {
    type Err = DescrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::parse(s)
    }
}

/// Writes `s` as a JSON string literal.
fn write_json_str(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn describe(value: &PyValue) -> String {
    match value {
        PyValue::Str(s) => literal::repr_str(s),
        PyValue::Int(i) => i.to_string(),
        PyValue::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        PyValue::None => "None".into(),
        PyValue::Tuple(items) | PyValue::List(items) => {
            let (open, close) = if matches!(value, PyValue::Tuple(_)) {
                ('(', ')')
            } else {
                ('[', ']')
            };
            let inner: Vec<String> = items.iter().map(describe).collect();
            let mut s = format!("{open}{}", inner.join(", "));
            if items.len() == 1 && open == '(' {
                s.push(',');
            }
            s.push(close);
            s
        }
        PyValue::Dict(_) => "{...}".into(),
    }
}

fn shape_from_py(value: &PyValue, context: &str) -> Result<Vec<u64>, DescrError> {
    let dim = |v: &PyValue| match v {
        PyValue::Int(i) => u64::try_from(*i).map_err(|_| {
            DescrError::new(
                context,
                format!("sub-array dimension {i} is negative or too large"),
            )
        }),
        other => Err(DescrError::new(
            context,
            format!("sub-array dimensions are ints, not {}", other.type_name()),
        )),
    };
    match value {
        PyValue::Int(_) => Ok(vec![dim(value)?]),
        PyValue::Tuple(items) => items.iter().map(dim).collect(),
        other => Err(DescrError::new(
            context,
            format!(
                "a sub-array shape is an int or a tuple of ints, not a {}",
                other.type_name()
            ),
        )),
    }
}

fn field_from_py(entry: &PyValue, depth: usize) -> Result<Field, DescrError> {
    let context = describe(entry);
    let items = match entry {
        PyValue::Tuple(items) | PyValue::List(items) if matches!(items.len(), 2 | 3) => items,
        _ => {
            return Err(DescrError::new(
                context,
                "a field is (name, fmt) or (name, fmt, shape)",
            ));
        }
    };
    let (title, name) = match &items[0] {
        PyValue::Str(name) => (None, name.clone()),
        PyValue::Tuple(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
            (PyValue::Str(title), PyValue::Str(name)) => (Some(title.clone()), name.clone()),
            _ => {
                return Err(DescrError::new(
                    context,
                    "a (title, name) pair must hold two strings",
                ));
            }
        },
        other => {
            return Err(DescrError::new(
                context,
                format!(
                    "a field name is a str or a (title, name) pair, not a {}",
                    other.type_name()
                ),
            ));
        }
    };
    let (dtype, inner_shape) = DType::from_py(&items[1], depth + 1)?.split_subarray();
    let mut shape = match items.get(2) {
        Some(shape) => shape_from_py(shape, &context)?,
        None => Vec::new(),
    };
    // numpy folds a sub-array fmt into the field: (name, (fmt, inner), outer) has shape outer+inner.
    shape.extend(inner_shape);
    Ok(Field {
        name,
        title,
        dtype,
        shape,
    })
}

/// Parses a numpy type string: an optional byte order (`<`, `>`, `|`, `=`, `!`) then a kind with a
/// size (`f8`, `S5`, `M8[ns]`) or a one-character type code (`d`, `?`, `q`).
fn parse_type_str(text: &str) -> Result<Scalar, DescrError> {
    let err = |reason: &str| DescrError::new(literal::repr_str(text), reason);
    let (order, rest) = match text.chars().next() {
        Some('<') => (ByteOrder::Little, &text[1..]),
        Some('>' | '!') => (ByteOrder::Big, &text[1..]),
        Some('=' | '|') => (ByteOrder::NotApplicable, &text[1..]),
        _ => (ByteOrder::NotApplicable, text),
    };
    let mut chars = rest.chars();
    let Some(code) = chars.next() else {
        return Err(err("empty type string"));
    };
    let tail = chars.as_str();
    let (digits, unit) = match tail.find('[') {
        Some(i) if tail.ends_with(']') => (&tail[..i], Some(&tail[i + 1..tail.len() - 1])),
        Some(_) => return Err(err("unterminated time unit")),
        None => (tail, None),
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("unknown type string"));
    }
    let size: Option<usize> = if digits.is_empty() {
        None
    } else {
        Some(digits.parse().map_err(|_| err("size too large"))?)
    };
    if unit.is_some() && !matches!(code, 'M' | 'm') {
        return Err(err("only M8 and m8 take a unit"));
    }
    let fixed = |kind: ScalarKind, default: usize, allowed: &[usize]| {
        let size = size.unwrap_or(default);
        if allowed.contains(&size) {
            Ok(Scalar::new(kind, order, size))
        } else {
            Err(err("unsupported item size for this kind"))
        }
    };
    use ScalarKind::*;
    let ints = [1, 2, 4, 8];
    match (code, size) {
        ('b', Some(_)) => fixed(Bool, 1, &[1]),
        ('?', None) => fixed(Bool, 1, &[1]),
        ('i', _) => fixed(Int, 4, &ints),
        ('u', Some(_)) => fixed(UInt, 1, &ints),
        ('f', _) => fixed(Float, 4, &[2, 4, 8, 12, 16]),
        ('c', Some(_)) => fixed(Complex, 8, &[8, 16, 24, 32]),
        ('S' | 'a', _) => Ok(Scalar::new(Bytes, order, size.unwrap_or(0))),
        ('c', None) => Ok(Scalar::new(Bytes, order, 1)),
        ('V', _) => Ok(Scalar::new(Void, order, size.unwrap_or(0))),
        ('U', _) => {
            let chars = size.unwrap_or(0);
            let bytes = chars.checked_mul(4).ok_or_else(|| err("size too large"))?;
            Ok(Scalar::new(Unicode, order, bytes))
        }
        ('O', None | Some(8)) => Ok(Scalar::new(Object, order, 8)),
        ('M' | 'm', None | Some(8)) => {
            let (unit, multiplier) =
                parse_time_unit(unit.unwrap_or("")).ok_or_else(|| err("unknown time unit"))?;
            let kind = if code == 'M' {
                DateTime { unit, multiplier }
            } else {
                TimeDelta { unit, multiplier }
            };
            Ok(Scalar::new(kind, order, 8))
        }
        (code, None) => {
            let (kind, size) = match code {
                'b' => (Int, 1),
                'B' => (UInt, 1),
                'h' => (Int, 2),
                'H' => (UInt, 2),
                'I' => (UInt, 4),
                'l' | 'q' | 'p' | 'n' => (Int, 8),
                'L' | 'Q' | 'P' | 'N' => (UInt, 8),
                'e' => (Float, 2),
                'd' => (Float, 8),
                'g' => (Float, 16),
                'F' => (Complex, 8),
                'D' => (Complex, 16),
                'G' => (Complex, 32),
                _ => return Err(err("unknown type string")),
            };
            Ok(Scalar::new(kind, order, size))
        }
        _ => Err(err("unknown type string")),
    }
}

fn parse_time_unit(text: &str) -> Option<(TimeUnit, u32)> {
    if text.is_empty() || text == "generic" {
        return Some((TimeUnit::Generic, 1));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, code) = text.split_at(split);
    let multiplier = if digits.is_empty() {
        1
    } else {
        digits.parse().ok().filter(|&m| m > 0)?
    };
    Some((TimeUnit::from_code(code)?, multiplier))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        DType::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .descr()
    }

    #[test]
    fn scalar_type_strings_normalise_like_numpy() {
        assert_eq!(roundtrip("<f8"), "'<f8'");
        assert_eq!(roundtrip("'<i1'"), "'|i1'");
        assert_eq!(roundtrip(">S5"), "'|S5'");
        assert_eq!(roundtrip("|b1"), "'|b1'");
        assert_eq!(roundtrip("?"), "'|b1'");
        assert_eq!(roundtrip(">U3"), "'>U3'");
        assert_eq!(roundtrip("O"), "'|O'");
        assert_eq!(roundtrip("<O8"), "'|O'");
        assert_eq!(roundtrip("d"), "'<f8'");
        assert_eq!(roundtrip("<M8[ns]"), "'<M8[ns]'");
        assert_eq!(roundtrip(">m8[25s]"), "'>m8[25s]'");
        assert_eq!(roundtrip("<M8"), "'<M8'");
        assert_eq!(roundtrip("<M8[μs]"), "'<M8[us]'");
        assert_eq!(roundtrip("=c16"), "'<c16'");
        assert_eq!(roundtrip("<f16"), "'<f16'");
        assert_eq!(roundtrip("|V7"), "'|V7'");
    }

    #[test]
    fn every_time_unit_round_trips() {
        for (unit, code) in TimeUnit::ALL {
            let text = format!("<m8[{code}]");
            let dt = DType::parse(&text).unwrap();
            assert_eq!(dt.descr(), format!("'{text}'"));
            assert_eq!(
                dt.as_scalar().unwrap().kind,
                ScalarKind::TimeDelta {
                    unit,
                    multiplier: 1
                }
            );
        }
    }

    #[test]
    fn bad_type_strings_are_refused() {
        for bad in [
            "",
            "<",
            "<i3",
            "<f3",
            "x8",
            "<M8[lightyears]",
            "<M8[ns",
            "<u",
            "<i8[ns]",
            "<S99999999999999999999999",
            "<c",
        ] {
            assert!(
                DType::parse(bad).is_err() || bad == "<c",
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn structured_dtypes_print_like_numpy() {
        let text = "[('x', '<f4'), ('', '|V4'), (('t', 'y'), '>i8', (2, 3)), ('n', [('a', '|u1'), ('b', '<U2')], (1,))]";
        assert_eq!(roundtrip(text), text);
        let dt = DType::parse(text).unwrap();
        assert_eq!(dt.itemsize(), 4 + 4 + 8 * 6 + 9);
        assert!(!dt.is_native());
    }

    #[test]
    fn field_sub_array_forms_fold_together() {
        let dt = DType::parse("[('a', ('<i4', (2,)), (3,))]").unwrap();
        assert_eq!(dt.descr(), "[('a', '<i4', (3, 2))]");
        let dt = DType::parse("[('a', '<i4', 3)]").unwrap();
        assert_eq!(dt.descr(), "[('a', '<i4', (3,))]");
    }

    #[test]
    fn duplicate_names_and_bad_fields_are_refused() {
        for bad in [
            "[('a', '<i4'), ('a', '<f8')]",
            "[(('a', 'b'), '<i4'), ('a', '<f8')]",
            "[('a',)]",
            "[('a', '<i4', (-1,))]",
            "[(1, '<i4')]",
            "[('a', 5)]",
            "{'a': 1}",
            "[('a', '<i8', (4611686018427387904, 4))]",
        ] {
            assert!(DType::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn byte_swapping_covers_records_and_complex() {
        let dt = DType::parse("[('a', '>u2'), ('b', '|u1'), ('c', '>c8')]").unwrap();
        let mut data = [1, 2, 9, 1, 2, 3, 4, 5, 6, 7, 8];
        dt.swap_bytes(&mut data);
        assert_eq!(data, [2, 1, 9, 4, 3, 2, 1, 8, 7, 6, 5]);
    }

    #[test]
    fn canonical_drops_empty_sub_array_shapes() {
        let dt = DType::parse("[('a', '<i4', ()), ('', '|V3')]").unwrap();
        assert_eq!(dt.canonical().descr(), "[('a', '<i4'), ('', '|V3')]");
    }
}
