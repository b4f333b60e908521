//! Deterministic, collision-free file names for values.
//!
//! A name (or dict key) is escaped byte by byte: lowercase ASCII letters, digits, `_` and `-`
//! are kept, `.` is kept except as the first byte, and every other byte (uppercase letters too,
//! so that names never collide on case-insensitive file systems) becomes `%XX` (uppercase hex
//! of the UTF-8 byte). A dict array's stem is `NAME~KEY`: `~` is always escaped inside a
//! component, so the separator cannot appear unescaped. Stems that Windows reserves (`con`,
//! `nul`, `com1`, ...) get their first byte escaped. No hashes, no process state: the same
//! name gives the same file on every run and machine.

/// The manifest of a directory pack (and, as `__varpack__.json`, of a single-file pack).
pub const MANIFEST: &str = "varpack.json";
/// The manifest member of a single-file pack (later appends add `__varpack__.N.json`).
pub const NPZ_MANIFEST: &str = "__varpack__.json";
/// The JSON document holding every JSON value not stored in a file of its own.
pub const VALUES: &str = "values.json";

const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Escapes one name or key component (see the module docs).
///
/// ```
/// assert_eq!(varpack::escape_component("temp_2"), "temp_2");
/// assert_eq!(varpack::escape_component("T"), "%54");
/// assert_eq!(varpack::escape_component("a/b~c"), "a%2Fb%7Ec");
/// assert_eq!(varpack::escape_component(".hidden"), "%2Ehidden");
/// assert_eq!(varpack::escape_component("µ"), "%C2%B5");
/// ```
pub fn escape_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let keep = b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || b == b'_'
            || b == b'-'
            || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn guard_reserved(stem: String) -> String {
    let base = stem.split('.').next().unwrap_or("");
    if RESERVED.contains(&base) {
        let first = stem.as_bytes()[0];
        format!("%{first:02X}{}", &stem[1..])
    } else {
        stem
    }
}

/// The file stem of a top-level value (before `.npy` or `.value.json`).
///
/// ```
/// assert_eq!(varpack::file_stem("x", None), "x");
/// assert_eq!(varpack::file_stem("d", Some("Key 1")), "d~%4Bey%201");
/// assert_eq!(varpack::file_stem("con", None), "%63on");
/// assert_ne!(varpack::file_stem("a~b", None), varpack::file_stem("a", Some("b")));
/// ```
pub fn file_stem(name: &str, key: Option<&str>) -> String {
    let mut stem = escape_component(name);
    if let Some(key) = key {
        stem.push('~');
        stem.push_str(&escape_component(key));
    }
    guard_reserved(stem)
}

pub(crate) fn array_file(name: &str, key: Option<&str>) -> String {
    format!("{}.npy", file_stem(name, key))
}

pub(crate) fn json_file(name: &str) -> String {
    format!("{}.value.json", file_stem(name, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_inputs_give_distinct_stems() {
        let names = [
            "a", "A", "a~b", "a.b", ".a", "%41", "con", "CON", "c", "", "a b",
        ];
        let mut seen = std::collections::HashSet::new();
        for n in names {
            assert!(seen.insert(file_stem(n, None)), "{n}");
            for k in names {
                assert!(seen.insert(file_stem(n, Some(k))), "{n} {k}");
            }
        }
    }
}
