//! A small glob matcher for [`PackBuilder`](crate::PackBuilder) filters.
//!
//! Syntax: `*` any run of characters except `/`; `?` one character except `/`; `**` any run
//! including `/`; `**/` zero or more whole directories; `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`)
//! one character of (or not of) a set; `\x` the character `x`. A pattern without `/` is matched
//! against the file name alone (`*.png` matches `a/b/c.png`); a pattern with a `/` is matched
//! against the whole path relative to the packed root (a leading `/` is ignored).

use crate::error::BuildError;

#[derive(Debug, Clone)]
enum Tok {
    Char(char),
    Any,
    Star,
    DoubleStar,
    /// `**/`: empty, or anything ending with `/`.
    Dirs,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    toks: Vec<Tok>,
    whole_path: bool,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Glob, BuildError> {
        let err = |reason| BuildError::Glob {
            pattern: pattern.to_owned(),
            reason,
        };
        let whole_path = pattern.contains('/');
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        let chars: Vec<char> = body.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    let mut run = 0;
                    while chars.get(i) == Some(&'*') {
                        run += 1;
                        i += 1;
                    }
                    if run == 1 {
                        toks.push(Tok::Star);
                    } else if chars.get(i) == Some(&'/') {
                        toks.push(Tok::Dirs);
                        i += 1;
                    } else {
                        toks.push(Tok::DoubleStar);
                    }
                }
                '?' => {
                    toks.push(Tok::Any);
                    i += 1;
                }
                '\\' => {
                    let c = *chars
                        .get(i + 1)
                        .ok_or_else(|| err("ends with a lone `\\`"))?;
                    toks.push(Tok::Char(c));
                    i += 2;
                }
                '[' => {
                    let mut j = i + 1;
                    let negated = matches!(chars.get(j), Some('!' | '^'));
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = *chars.get(j).ok_or_else(|| err("unclosed `[`"))?;
                        if c == ']' && !first {
                            j += 1;
                            break;
                        }
                        first = false;
                        let c = if c == '\\' {
                            j += 1;
                            *chars.get(j).ok_or_else(|| err("unclosed `[`"))?
                        } else {
                            c
                        };
                        if chars.get(j + 1) == Some(&'-')
                            && chars.get(j + 2).is_some_and(|&e| e != ']')
                        {
                            let hi = chars[j + 2];
                            if hi < c {
                                return Err(err("a range in `[...]` is reversed"));
                            }
                            ranges.push((c, hi));
                            j += 3;
                        } else {
                            ranges.push((c, c));
                            j += 1;
                        }
                    }
                    toks.push(Tok::Class { negated, ranges });
                    i = j;
                }
                c => {
                    toks.push(Tok::Char(c));
                    i += 1;
                }
            }
        }
        Ok(Glob { toks, whole_path })
    }

    /// Whether the pattern matches the entry at `path` (normalized, relative to the root).
    pub(crate) fn matches(&self, path: &str) -> bool {
        let text = if self.whole_path {
            path
        } else {
            crate::path::basename(path)
        };
        let text: Vec<char> = text.chars().collect();
        let n = text.len();
        // dp[j]: the tokens so far match text[..j].
        let mut dp = vec![false; n + 1];
        dp[0] = true;
        let mut next = vec![false; n + 1];
        for tok in &self.toks {
            match tok {
                Tok::Star | Tok::DoubleStar => {
                    next[0] = dp[0];
                    for j in 1..=n {
                        let extend =
                            next[j - 1] && (matches!(tok, Tok::DoubleStar) || text[j - 1] != '/');
                        next[j] = dp[j] || extend;
                    }
                }
                Tok::Dirs => {
                    let mut any = false;
                    for j in 0..=n {
                        next[j] = dp[j] || (j > 0 && text[j - 1] == '/' && any);
                        any |= dp[j];
                    }
                }
                single => {
                    next[0] = false;
                    for j in 1..=n {
                        let c = text[j - 1];
                        let ok = match single {
                            Tok::Char(x) => *x == c,
                            Tok::Any => c != '/',
                            Tok::Class { negated, ranges } => {
                                c != '/'
                                    && ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
                            }
                            _ => false,
                        };
                        next[j] = dp[j - 1] && ok;
                    }
                }
            }
            std::mem::swap(&mut dp, &mut next);
            if !dp.iter().any(|&x| x) {
                return false;
            }
        }
        dp[n]
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
    fn errors() {
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("abc\\").is_err());
        assert!(Glob::new("[z-a]").is_err());
        assert!(Glob::new("[]]").unwrap().matches("]"));
    }
}
