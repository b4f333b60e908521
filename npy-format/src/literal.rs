//! A small parser and printer for the Python literals an NPY header holds.
//!
//! numpy reads the header with `ast.literal_eval`, so a faithful reader must accept what Python
//! accepts for the shapes a header takes: a dict of strings, ints, bools, tuples and lists, in any
//! key order, with any whitespace, trailing commas, comments and string escapes. Files written by
//! Python 2 may carry the `L` suffix on ints (numpy strips it for versions 1.0 and 2.0 only).
//!
//! The printer is the other half: it writes Python's `repr` of strings and ints exactly, so that
//! the header text we produce is byte-identical to numpy's.

use std::fmt::Write as _;

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A Python value as `ast.literal_eval` would produce it, for the subset an NPY header uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PyValue {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<PyValue>),
    List(Vec<PyValue>),
    /// Key/value pairs in source order; a repeated key keeps its last value, as in Python.
    Dict(Vec<(PyValue, PyValue)>),
}

impl PyValue {
    /// Python's name for the value's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            PyValue::Str(_) => "str",
            PyValue::Int(_) => "int",
            PyValue::Bool(_) => "bool",
            PyValue::None => "NoneType",
            PyValue::Tuple(_) => "tuple",
            PyValue::List(_) => "list",
            PyValue::Dict(_) => "dict",
        }
    }
}

/// Where and why a literal failed to parse. `offset` counts characters from the start of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Parses one Python literal filling the whole text (surrounding whitespace and comments allowed).
///
/// `allow_long_suffix` accepts Python 2's `123L` ints, as numpy does for format versions 1 and 2.
pub(crate) fn parse(text: &str, allow_long_suffix: bool) -> Result<PyValue, SyntaxError> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        allow_long_suffix,
    };
    let value = parser.value(0)?;
    parser.skip_trivia();
    if parser.pos < parser.chars.len() {
        return Err(parser.error("unexpected text after the literal"));
    }
    Ok(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    allow_long_suffix: bool,
}

impl Parser {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_trivia(&mut self) {
        while let Some(c) = self.peek() {
            if c == '#' {
                while let Some(c) = self.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else if c.is_whitespace() || c == '\\' && self.chars.get(self.pos + 1) == Some(&'\n')
            {
                self.pos += if c == '\\' { 2 } else { 1 };
            } else {
                break;
            }
        }
    }

    fn expect(&mut self, want: char) -> Result<(), SyntaxError> {
        self.skip_trivia();
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected '{want}'")))
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.skip_trivia();
        let Some(c) = self.peek() else {
            return Err(self.error("unexpected end of text"));
        };
        match c {
            '{' => self.dict(depth),
            '[' => {
                self.pos += 1;
                let (items, _) = self.sequence(']', depth)?;
                Ok(PyValue::List(items))
            }
            '(' => {
                self.pos += 1;
                let (mut items, trailing_comma) = self.sequence(')', depth)?;
                // `(x)` is just x in Python; only a comma makes a 1-tuple.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.pop().expect("one item"))
                } else {
                    Ok(PyValue::Tuple(items))
                }
            }
            '\'' | '"' => self.strings(),
            '-' | '+' | '0'..='9' => self.int(),
            c if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                let word = self.word();
                match word.as_str() {
                    "True" => Ok(PyValue::Bool(true)),
                    "False" => Ok(PyValue::Bool(false)),
                    "None" => Ok(PyValue::None),
                    w if is_string_prefix(w) && matches!(self.peek(), Some('\'' | '"')) => {
                        self.pos = start;
                        self.strings()
                    }
                    w => {
                        self.pos = start;
                        Err(self.error(format!("'{w}' is not a literal")))
                    }
                }
            }
            c => Err(self.error(format!("unexpected character {c:?}"))),
        }
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Items up to `close`; returns whether the last item was followed by a comma.
    fn sequence(&mut self, close: char, depth: usize) -> Result<(Vec<PyValue>, bool), SyntaxError> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_trivia();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, trailing_comma));
            }
            if !items.is_empty() && !trailing_comma {
                return Err(self.error(format!("expected ',' or '{close}'")));
            }
            items.push(self.value(depth + 1)?);
            self.skip_trivia();
            trailing_comma = self.peek() == Some(',');
            if trailing_comma {
                self.pos += 1;
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<PyValue, SyntaxError> {
        self.pos += 1; // '{'
        let mut pairs: Vec<(PyValue, PyValue)> = Vec::new();
        loop {
            self.skip_trivia();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(PyValue::Dict(pairs));
            }
            let key_offset = self.pos;
            let key = self.value(depth + 1)?;
            if matches!(key, PyValue::List(_) | PyValue::Dict(_)) {
                return Err(SyntaxError {
                    offset: key_offset,
                    message: format!("unhashable type: '{}'", key.type_name()),
                });
            }
            self.expect(':')?;
            let value = self.value(depth + 1)?;
            if let Some(slot) = pairs.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                pairs.push((key, value));
            }
            self.skip_trivia();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected ',' or '}' in dict")),
            }
        }
    }

    fn int(&mut self) -> Result<PyValue, SyntaxError> {
        let start = self.pos;
        let mut negative = false;
        // Python allows any run of unary signs: `--3` is 3.
        while let Some(c @ ('-' | '+')) = self.peek() {
            negative ^= c == '-';
            self.pos += 1;
            self.skip_trivia();
        }
        let radix = match (self.peek(), self.chars.get(self.pos + 1)) {
            (Some('0'), Some('x' | 'X')) => 16,
            (Some('0'), Some('o' | 'O')) => 8,
            (Some('0'), Some('b' | 'B')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.pos += 2;
        }
        let digits_start = self.pos;
        let mut value: i128 = 0;
        let mut last_was_digit = false;
        while let Some(c) = self.peek() {
            if c == '_' && last_was_digit {
                last_was_digit = false;
            } else if let Some(d) = c.to_digit(radix) {
                value = value
                    .checked_mul(i128::from(radix))
                    .and_then(|v| v.checked_add(i128::from(d)))
                    .ok_or_else(|| SyntaxError {
                        offset: start,
                        message: "integer too large".into(),
                    })?;
                last_was_digit = true;
            } else {
                break;
            }
            self.pos += 1;
        }
        if self.pos == digits_start || !last_was_digit {
            return Err(self.error("malformed number"));
        }
        let digits: String = self.chars[digits_start..self.pos].iter().collect();
        if radix == 10 && digits.len() > 1 && digits.starts_with('0') && value != 0 {
            return Err(SyntaxError {
                offset: digits_start,
                message: "leading zeros in a decimal integer are not permitted".into(),
            });
        }
        if self.peek() == Some('L') && self.allow_long_suffix {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '.' || c == '_') {
            return Err(self.error("only integer numbers are allowed here"));
        }
        Ok(PyValue::Int(if negative { -value } else { value }))
    }

    /// One string literal, or several adjacent ones, which Python concatenates.
    fn strings(&mut self) -> Result<PyValue, SyntaxError> {
        let mut out = self.string()?;
        loop {
            let save = self.pos;
            self.skip_trivia();
            let prefix_len = self.chars[self.pos..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let prefix: String = self.chars[self.pos..self.pos + prefix_len].iter().collect();
            let next = self.chars.get(self.pos + prefix_len);
            if is_string_prefix(&prefix) && matches!(next, Some('\'' | '"')) {
                out.push_str(&self.string()?);
            } else {
                self.pos = save;
                return Ok(PyValue::Str(out));
            }
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        let prefix = self.word().to_ascii_lowercase();
        if prefix.contains('b') {
            return Err(SyntaxError {
                offset: start,
                message: "bytes literals are not valid here".into(),
            });
        }
        let raw = prefix.contains('r');
        let quote = self.peek().ok_or_else(|| self.error("expected a string"))?;
        let triple = self.chars.get(self.pos + 1) == Some(&quote)
            && self.chars.get(self.pos + 2) == Some(&quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(SyntaxError {
                    offset: start,
                    message: "unterminated string literal".into(),
                });
            };
            if c == quote {
                if !triple {
                    self.pos += 1;
                    return Ok(out);
                }
                if self.chars.get(self.pos + 1) == Some(&quote)
                    && self.chars.get(self.pos + 2) == Some(&quote)
                {
                    self.pos += 3;
                    return Ok(out);
                }
            }
            if c == '\n' && !triple {
                return Err(SyntaxError {
                    offset: start,
                    message: "unterminated string literal".into(),
                });
            }
            self.pos += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else { continue };
            if raw {
                // In raw strings a backslash escapes nothing but still keeps a quote inside.
                out.push('\\');
                out.push(e);
                self.pos += 1;
                continue;
            }
            self.pos += 1;
            match e {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut code = e.to_digit(8).expect("octal digit");
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(code).expect("octal escapes stay below 0o777"));
                }
                'x' => out.push(self.hex_escape(2)?),
                'u' => out.push(self.hex_escape(4)?),
                'U' => out.push(self.hex_escape(8)?),
                'N' => return Err(self.error("\\N{...} escapes are not supported")),
                other => {
                    // Python keeps unknown escapes verbatim.
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, len: usize) -> Result<char, SyntaxError> {
        let start = self.pos;
        let digits: String = self.chars.iter().skip(self.pos).take(len).collect();
        if digits.chars().count() != len || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.error("truncated \\x, \\u or \\U escape"));
        }
        self.pos += len;
        let code = u32::from_str_radix(&digits, 16).expect("hex digits checked");
        char::from_u32(code).ok_or(SyntaxError {
            offset: start,
            message: format!("escape \\U{code:08x} is not a Unicode scalar value"),
        })
    }
}

fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "" | "r" | "u" | "b" | "br" | "rb"
    )
}

/// Writes Python's `repr()` of a string: single quotes unless the text holds a single quote and
/// no double quote, and escapes for backslashes, quotes and characters Python deems unprintable.
pub(crate) fn write_repr_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let code = c as u32;
                let _ = if code < 0x100 {
                    write!(out, "\\x{code:02x}")
                } else if code < 0x10000 {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable` for one character: false for the categories Cc, Cf, Co, Cs, Zl, Zp
/// and Zs other than the ASCII space. Unassigned code points (Cn) depend on the Unicode version of
/// the Python that wrote the file and are treated as printable here.
pub(crate) fn is_printable(c: char) -> bool {
    let code = c as u32;
    !matches!(code,
        0x00..=0x1f | 0x7f..=0xa0 | 0xad
        | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
        | 0x1680 | 0x180e
        | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x2064 | 0x2066..=0x206f
        | 0x3000 | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
        | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..)
}

/// Python's `repr()` of a string, as a new `String`.
pub(crate) fn repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_repr_str(&mut out, s);
    out
}

/// Python's `repr()` of a tuple of non-negative ints: `()`, `(3,)`, `(3, 4)`.
pub(crate) fn write_repr_tuple(out: &mut String, items: &[u64]) {
    out.push('(');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    if items.len() == 1 {
        out.push(',');
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PyValue {
        parse(text, true).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    #[test]
    fn parses_a_typical_header_in_any_key_order() {
        let v = p("{'shape': (3, 4), 'fortran_order': False, 'descr': '<f8', }   \n");
        let PyValue::Dict(pairs) = v else { panic!() };
        assert_eq!(
            pairs[0].1,
            PyValue::Tuple(vec![PyValue::Int(3), PyValue::Int(4)])
        );
        assert_eq!(pairs[1].1, PyValue::Bool(false));
        assert_eq!(pairs[2].1, PyValue::Str("<f8".into()));
    }

    #[test]
    fn tuples_follow_python() {
        assert_eq!(p("()"), PyValue::Tuple(vec![]));
        assert_eq!(p("(3,)"), PyValue::Tuple(vec![PyValue::Int(3)]));
        assert_eq!(p("(3)"), PyValue::Int(3));
        assert_eq!(
            p("( 1 , 2 , )"),
            PyValue::Tuple(vec![PyValue::Int(1), PyValue::Int(2)])
        );
    }

    #[test]
    fn ints_in_python_syntax() {
        assert_eq!(p("1_000"), PyValue::Int(1000));
        assert_eq!(p("0x10"), PyValue::Int(16));
        assert_eq!(p("-5"), PyValue::Int(-5));
        assert_eq!(p("- -5"), PyValue::Int(5));
        assert_eq!(p("7L"), PyValue::Int(7));
        assert!(parse("7L", false).is_err());
        assert!(parse("007", true).is_err());
        assert!(parse("1.5", true).is_err());
        assert!(parse("1_", true).is_err());
        assert!(parse("99999999999999999999999999999999999999999", true).is_err());
    }

    #[test]
    fn strings_with_escapes_prefixes_and_concatenation() {
        assert_eq!(p(r#""it's""#), PyValue::Str("it's".into()));
        assert_eq!(
            p(r"'a\'b\\c\n\x41\u00e9\U0001F600\101'"),
            PyValue::Str("a'b\\c\nA\u{e9}\u{1F600}A".into())
        );
        assert_eq!(p("u'x' 'y'"), PyValue::Str("xy".into()));
        assert_eq!(p(r"r'\d'"), PyValue::Str("\\d".into()));
        assert_eq!(p("'''tri'ple'''"), PyValue::Str("tri'ple".into()));
        assert!(parse("b'x'", true).is_err());
        assert!(parse("'open", true).is_err());
        assert!(parse("'\\ud800'", true).is_err());
    }

    #[test]
    fn comments_and_duplicate_keys() {
        let v = p("{'a': 1, # note\n 'a': 2}");
        assert_eq!(
            v,
            PyValue::Dict(vec![(PyValue::Str("a".into()), PyValue::Int(2))])
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "{",
            "{'a' 1}",
            "[1 2]",
            "{[]: 1}",
            "foo",
            "(1,,)",
            "'\\x4'",
            "{'a': 1}}",
        ] {
            assert!(parse(bad, true).is_err(), "{bad:?} parsed");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep, true).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("'\""), "'\\'\"'");
        assert_eq!(
            repr_str("a\\b\n\t\x01\x7f\u{a0}é\u{ad}ж"),
            "'a\\\\b\\n\\t\\x01\\x7f\\xa0é\\xadж'"
        );
        assert_eq!(
            repr_str("\u{2028}\u{1F600}\u{e000}"),
            "'\\u2028\u{1F600}\\ue000'"
        );
        let mut s = String::new();
        write_repr_tuple(&mut s, &[5]);
        assert_eq!(s, "(5,)");
    }

    #[test]
    fn repr_roundtrips_through_parse() {
        for s in [
            "",
            "x",
            "it's",
            "both'\"",
            "\\",
            "\x00\u{ff}\u{2028}",
            "日本",
        ] {
            assert_eq!(p(&repr_str(s)), PyValue::Str(s.into()), "{s:?}");
        }
    }
}
