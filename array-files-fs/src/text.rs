//! Names read from files, made safe to print.
//!
//! A member, entry or variable name comes from the file, and a hostile file can name one
//! `"\x1b[2J"` (clear the screen) or with a right-to-left override that makes `evil.npy.exe`
//! read as `evil.exe.npy`. Messages and listings print names through [`escape_control`].

use std::borrow::Cow;
use std::fmt::Write;

/// `name` with control characters (C0, DEL, C1) and the bidirectional formatting characters
/// escaped as Rust writes them (`\n`, `\t`, `\r`, `\u{1b}`); other text, backslashes included,
/// is unchanged, so ordinary names print as they are (and without a copy).
///
/// ```
/// use array_files_fs::text::escape_control;
/// assert_eq!(escape_control("café/x.npy"), "café/x.npy");
/// assert_eq!(escape_control("a\nb\x1b[2J"), "a\\nb\\u{1b}[2J");
/// assert_eq!(escape_control("evil\u{202e}ypn.exe"), "evil\\u{202e}ypn.exe");
/// ```
pub fn escape_control(name: &str) -> Cow<'_, str> {
    if !name.chars().any(needs_escape) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_escaped_and_nothing_else() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = c.to_string();
            let escaped = escape_control(&s);
            if needs_escape(c) {
                assert!(escaped.starts_with('\\'), "{c:?} -> {escaped}");
                assert!(!escaped.chars().any(needs_escape), "{c:?} -> {escaped}");
            } else {
                assert_eq!(escaped, s);
            }
        }
    }
}
