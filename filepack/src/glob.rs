//! Glob filters for [`PackBuilder`](crate::PackBuilder), matched by the `globset` crate.
//!
//! Syntax (globset's, with `/` a literal separator and `\\` an escape): `*` any run of characters
//! except `/`; `?` one character except `/`; `**` any run including `/`; `**/` zero or more
//! whole directories; `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`) one character of (or not of) a
//! set; `\\x` the character `x`. A pattern without `/` is matched against the file name alone
//! (`*.png` matches `a/b/c.png`); a pattern with a `/` is matched against the whole path
//! relative to the packed root (a leading `/` is ignored): that split is this module's, the
//! rest is globset's.

use globset::{GlobBuilder, GlobMatcher};

use crate::error::BuildError;

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    matcher: GlobMatcher,
    whole_path: bool,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Glob, BuildError> {
        let whole_path = pattern.contains('/');
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        let glob = GlobBuilder::new(body)
            .literal_separator(true)
            .backslash_escape(true)
            .empty_alternates(false)
            .build()
            .map_err(|e| BuildError::Glob {
                pattern: pattern.to_owned(),
                reason: e.kind().to_string(),
            })?;
        Ok(Glob {
            matcher: glob.compile_matcher(),
            whole_path,
        })
    }

    /// Whether the pattern matches the entry at `path` (normalized, relative to the root).
    pub(crate) fn matches(&self, path: &str) -> bool {
        if self.whole_path {
            self.matcher.is_match(path)
        } else {
            self.matcher
                .is_match(path.rsplit('/').next().unwrap_or(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(p: &str, path: &str) -> bool {
        Glob::new(p).unwrap().matches(path)
    }

    #[test]
    fn basename_patterns() {
        assert!(m("*.png", "a.png"));
        assert!(m("*.png", "x/y/a.png"));
        assert!(!m("*.png", "a.png.txt"));
        assert!(m("a?c", "d/abc"));
        assert!(!m("a?c", "abbc"));
        assert!(m("[ab]*", "b1"));
        assert!(!m("[!ab]*", "b1"));
        assert!(m("[a-c]x", "bx"));
        assert!(m(".*", ".hidden"));
        assert!(m("é*", "d/été"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
    }

    #[test]
    fn path_patterns() {
        assert!(m("a/*.txt", "a/b.txt"));
        assert!(!m("a/*.txt", "a/b/c.txt"));
        assert!(m("a/**/c.txt", "a/c.txt"));
        assert!(m("a/**/c.txt", "a/b/d/c.txt"));
        assert!(m("**/*.txt", "x.txt"));
        assert!(m("**/*.txt", "a/b/x.txt"));
        assert!(m("a/**", "a/b/c"));
        assert!(!m("a/**", "ab/c"));
        assert!(m("/top/*", "top/x"));
        assert!(!m("/top/*", "a/top/x"));
    }

    #[test]
    fn globset_alternates_and_the_name_or_path_split() {
        // `{a,b}` comes with globset; the split between name and path patterns is ours.
        assert!(m("*.{png,jpg}", "a/b.jpg"));
        assert!(!m("*.{png,jpg}", "a/b.gif"));
        assert!(m("a/{x,y}/*.txt", "a/y/z.txt"));
        assert!(!m("x/*.txt", "a/x/z.txt")); // a path pattern is anchored at the root
        assert!(m("**/x/*.txt", "a/x/z.txt"));
    }

    #[test]
    fn errors_name_the_pattern() {
        let err = Glob::new("[abc").unwrap_err().to_string();
        assert!(err.contains("\"[abc\""), "{err}");
        assert!(Glob::new("{a,b").is_err());
    }

    #[test]
    fn errors() {
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("abc\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
        assert!(Glob::new("[]]").unwrap().matches("]"));
    }
}
