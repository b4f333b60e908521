//! Paths inside a pack: normalization, component-wise order, and the checks extraction needs.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::error::{Error, ErrorKind};

/// Normalizes a path asked of a pack: `/`-separated, relative to the packed root.
///
/// Empty components and `.` are dropped, `..` removes the previous component (lexically), and a
/// leading `/` means the root of the pack, so `./a/b`, `a//b/`, `/a/b` and `a/x/../b` all give
/// `a/b`. The root is `""`. Already-normal paths are returned without copying.
///
/// # Errors
/// [`ErrorKind::InvalidPath`] for a `..` that would leave the root or a NUL byte.
///
/// ```
/// use treepack::normalize_path;
/// assert_eq!(normalize_path("./a//b/").unwrap(), "a/b");
/// assert_eq!(normalize_path("a/x/../b").unwrap(), "a/b");
/// assert_eq!(normalize_path("/").unwrap(), "");
/// assert!(normalize_path("a/../../b").is_err());
/// ```
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, Error> {
    normalized(path).map_err(Error::from)
}

/// [`normalize_path`], its error a bare kind (the pack's methods name the pack).
pub(crate) fn normalized(path: &str) -> Result<Cow<'_, str>, ErrorKind> {
    if is_normalized(path) {
        return Ok(Cow::Borrowed(path));
    }
    if path.as_bytes().contains(&0) {
        return Err(ErrorKind::InvalidPath {
            path: path.to_owned(),
            reason: "contains a NUL byte",
        });
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(ErrorKind::InvalidPath {
                        path: path.to_owned(),
                        reason: "`..` leads outside the root of the pack",
                    });
                }
            }
            other => parts.push(other),
        }
    }
    Ok(Cow::Owned(parts.join("/")))
}

/// Whether `path` is in normal form: no leading or trailing `/`, no empty, `.` or `..`
/// component, no NUL. The root `""` is normal.
pub(crate) fn is_normalized(path: &str) -> bool {
    let b = path.as_bytes();
    if b.last() == Some(&b'/') {
        return false;
    }
    // This runs on every lookup, so first a scan of eight bytes per step: every flaw shows in
    // a pair of adjacent bytes (`//`, or `/.` starting a `.` or `..` component, the path's
    // start counting as a `/`) or in a NUL. Names that merely start with a dot (`.hidden`)
    // also raise the flag; the exact check below clears them.
    let word_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let n = b.len();
    let mut flagged = 0;
    if n < 8 {
        // Padded with a byte that raises no flag.
        let mut word = [b'a'; 8];
        for (w, &c) in word.iter_mut().zip(b) {
            *w = c;
        }
        flagged = word_flaws(u64::from_le_bytes(word), true);
    } else {
        let mut at = 0;
        while at + 8 <= n {
            flagged |= word_flaws(word_at(at), at == 0 || b[at - 1] == b'/');
            at += 8;
        }
        if at < n {
            // The last eight bytes, overlapping the words already scanned: a second look at a
            // byte finds nothing new.
            flagged |= word_flaws(word_at(n - 8), b[n - 9] == b'/');
        }
    }
    flagged == 0
        || b.split(|&c| c == b'/')
            .all(|comp| !comp.is_empty() && comp != b"." && comp != b".." && !comp.contains(&0))
}

/// The flaw marks of eight path bytes (see [`is_normalized`]): a `/` or `.` right after a `/`
/// (`after_slash`: the byte before the word is one), or a NUL.
fn word_flaws(word: u64, after_slash: bool) -> u64 {
    let slash = bytes_equal(word, b'/');
    // Little-endian: shifting left by 8 moves each byte's mark onto the byte after it.
    let follows_slash = (slash << 8) | (u64::from(after_slash) << 7);
    (follows_slash & (slash | bytes_equal(word, b'.'))) | bytes_equal(word, 0)
}

/// The high bit of each byte of `word` that equals `byte`, exactly (no false marks from
/// borrows, unlike the shorter `has_zero` trick).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Component-wise order: bytewise, with `/` before every other byte. A directory sorts
/// immediately before its subtree.
pub(crate) fn cmp_paths(a: &[u8], b: &[u8]) -> Ordering {
    let key = |c: u8| if c == b'/' { 0u16 } else { u16::from(c) + 1 };
    let mut ia = a.iter();
    let mut ib = b.iter();
    loop {
        match (ia.next(), ib.next()) {
            (Some(&x), Some(&y)) => {
                if x != y {
                    return key(x).cmp(&key(y));
                }
            }
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
        }
    }
}

/// `path`, cut to at most 200 bytes (on a character boundary) with `...` appended if cut: for
/// error messages about paths that can be arbitrarily long.
pub(crate) fn shorten(path: &str) -> String {
    const MAX: usize = 200;
    if path.len() <= MAX {
        return path.to_owned();
    }
    let mut end = MAX;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &path[..end])
}

/// The parent of a normal path (`""` for top-level entries and the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last component of a normal path (`""` for the root).
pub(crate) fn basename(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// Joins a normal directory path and a relative suffix.
pub(crate) fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_owned()
    } else if rest.is_empty() {
        dir.to_owned()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Whether `ancestor` (normal) is a proper ancestor directory of `path` (normal).
pub(crate) fn is_ancestor(ancestor: &str, path: &str) -> bool {
    if ancestor.is_empty() {
        return !path.is_empty();
    }
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && path.as_bytes().get(ancestor.len()) == Some(&b'/')
}

/// Checks that a symlink at `link` (normal path) with `target` resolves inside the root
/// whatever the other links are: relative, every `..` before any other component, and no more
/// `..` than the link's depth.
pub(crate) fn check_contained_link(link: &str, target: &str) -> Result<(), &'static str> {
    if target.is_empty() {
        return Err("the target is empty");
    }
    if target.starts_with('/') {
        return Err("the target is absolute");
    }
    if target.as_bytes().contains(&0) {
        return Err("the target contains a NUL byte");
    }
    let depth = if link.is_empty() {
        0
    } else {
        link.split('/').count() - 1
    };
    let mut ups = 0usize;
    let mut descended = false;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if descended {
                    return Err(
                        "`..` after a normal component may leave the destination through another link",
                    );
                }
                ups += 1;
                if ups > depth {
                    return Err("`..` leads outside the destination");
                }
            }
            _ => descended = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        for (q, want) in [
            ("a/b", "a/b"),
            ("./a/b", "a/b"),
            ("a//b", "a/b"),
            ("a/b/", "a/b"),
            ("/a/b", "a/b"),
            (".", ""),
            ("", ""),
            ("./", ""),
            ("a/./b/.", "a/b"),
            ("a/b/..", "a"),
            ("é/ü", "é/ü"),
        ] {
            assert_eq!(normalize_path(q).unwrap(), want, "{q}");
        }
        for bad in ["..", "../a", "a/../..", "a\0b"] {
            assert!(normalize_path(bad).is_err(), "{bad}");
        }
    }

    /// The fast scan agrees with the definition, on every string of up to 6 bytes over the
    /// bytes that matter.
    #[test]
    fn is_normalized_matches_the_definition() {
        fn by_definition(path: &str) -> bool {
            path.is_empty()
                || path
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
        }
        let alphabet = ['a', '.', '/', '\0'];
        let mut checked = 0;
        for len in 0..=6u32 {
            for mut code in 0..4usize.pow(len) {
                let mut path = String::new();
                for _ in 0..len {
                    path.push(alphabet[code % 4]);
                    code /= 4;
                }
                assert_eq!(is_normalized(&path), by_definition(&path), "{path:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 5461);
        // Across word boundaries: the same strings behind prefixes of 1 to 9 bytes, and with
        // a suffix, so that every pair of adjacent bytes falls on each side of a word's edge.
        let mut crossed = 0;
        for prefix in [
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "abcdef",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
        ] {
            for len in 0..=4u32 {
                for mut code in 0..4usize.pow(len) {
                    let mut path = prefix.to_owned();
                    for _ in 0..len {
                        path.push(alphabet[code % 4]);
                        code /= 4;
                    }
                    for suffix in ["", "z", "/z", "yz"] {
                        let path = format!("{path}{suffix}");
                        assert_eq!(is_normalized(&path), by_definition(&path), "{path:?}");
                        crossed += 1;
                    }
                }
            }
        }
        assert_eq!(crossed, 9 * 341 * 4);
    }

    #[test]
    fn order_puts_subtrees_together() {
        let mut v = vec!["a.b", "a/b", "a", "a-c", "a/b/c", "", "b", "a/a"];
        v.sort_by(|x, y| cmp_paths(x.as_bytes(), y.as_bytes()));
        assert_eq!(v, ["", "a", "a/a", "a/b", "a/b/c", "a-c", "a.b", "b"]);
    }

    #[test]
    fn contained_links() {
        assert!(check_contained_link("a/l", "../b").is_ok());
        assert!(check_contained_link("a/l", "b/c").is_ok());
        assert!(check_contained_link("l", "./b").is_ok());
        assert!(check_contained_link("l", "../b").is_err());
        assert!(check_contained_link("a/l", "../../b").is_err());
        assert!(check_contained_link("a/l", "x/../b").is_err());
        assert!(check_contained_link("a/l", "/etc").is_err());
        assert!(check_contained_link("a/l", "").is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
        assert_eq!(basename("a/b/c"), "c");
        assert_eq!(basename("a"), "a");
        assert!(is_ancestor("", "a"));
        assert!(is_ancestor("a", "a/b"));
        assert!(!is_ancestor("a", "ab/c"));
        assert!(!is_ancestor("a", "a"));
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", "x"), "a/x");
    }
}
