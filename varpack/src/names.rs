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

/// The member of a single-file pack holding array `key` of value `name` (or the value itself):
/// the name as it is, so that `np.load` lists the variables by their own names (`café`, and
/// `dict/key` for a dict's arrays), unless it is not a plain member name (an empty, `.` or `..`
/// component, a leading `/`, a backslash, a control character, the manifest's prefix) or is
/// taken in `used`: then the escaped file name, with `~2`, `~3`, ... if that is taken too.
pub(crate) fn npz_member(
    name: &str,
    key: Option<&str>,
    used: &std::collections::HashSet<String>,
) -> String {
    let raw = match key {
        Some(key) => format!("{name}/{key}"),
        None => name.to_owned(),
    };
    let plain = !raw.starts_with("__varpack__")
        && !raw
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        && !raw.chars().any(|c| c == '\\' || c.is_control());
    let member = format!("{raw}.npy");
    if plain && !used.contains(&member) {
        return member;
    }
    let stem = file_stem(name, key);
    let mut member = format!("{stem}.npy");
    let mut n = 2;
    while used.contains(&member) {
        member = format!("{stem}~{n}.npy");
        n += 1;
    }
    member
}

pub(crate) fn json_file(name: &str) -> String {
    format!("{}.value.json", file_stem(name, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npz_members_are_the_names_unless_unsafe_or_taken() {
        let mut used = std::collections::HashSet::new();
        let mut add = |name: &str, key: Option<&str>| {
            let m = npz_member(name, key, &used);
            assert!(used.insert(m.clone()), "{m} given twice");
            m
        };
        assert_eq!(add("café", None), "café.npy");
        assert_eq!(add("d", Some("k 1")), "d/k 1.npy");
        // The same member a second way: the escaped name.
        assert_eq!(add("d/k 1", None), "d%2Fk%201.npy");
        assert_eq!(add("../up", None), "%2E.%2Fup.npy");
        assert_eq!(add("/abs", None), "%2Fabs.npy");
        assert_eq!(add("a\\b", None), "a%5Cb.npy");
        // The manifest's prefix is escaped (which keeps underscores): never a manifest member.
        assert_eq!(add("__varpack__", None), "__varpack__.npy");
        assert_eq!(add("x", Some("")), "x~.npy");
        // Escaped names taken too: numbered.
        let mut used = std::collections::HashSet::from(["%2Fa.npy".to_string()]);
        used.insert("/a.npy".into());
        assert_eq!(npz_member("/a", None, &used), "%2Fa~2.npy");
    }

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
