//! Resolving paths through symlinks, bounded as Linux bounds them (`ELOOP`).

use super::*;

/// How many symlinks a path resolution follows before giving up (as Linux's `ELOOP`).
pub(super) const MAX_SYMLINK_HOPS: u32 = 40;

impl Pack {
    /// Resolves `query`, following symlinks inside the pack (in parent components always, in the
    /// last component if `follow_last`).
    pub(super) fn resolve(&self, query: &str, follow_last: bool) -> Result<Entry<'_>, ErrorKind> {
        let norm = normalized(query)?;
        // Fast path: the full path is an entry (always the case when no symlink is involved).
        if let Some(found) = self.find(&norm)? {
            // The stored path equals `norm` (normalized) byte for byte: only UTF-8 is re-checked
            // to borrow it from the map as a &str.
            let path = std::str::from_utf8(found.path).ok();
            let entry = self.entry_from_record(found.index, found.rec, &found.raw, path)?;
            if !(follow_last && entry.is_symlink()) {
                return Ok(entry);
            }
        }
        self.resolve_slow(query, norm.into_owned(), follow_last)
    }

    pub(super) fn resolve_slow(
        &self,
        query: &str,
        mut path: String,
        follow_last: bool,
    ) -> Result<Entry<'_>, ErrorKind> {
        let mut hops = 0u32;
        'restart: loop {
            // Every proper prefix must be a directory or a symlink to follow.
            let mut boundaries: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
            boundaries.push(path.len());
            let last = boundaries.len() - 1;
            for (n, &end) in boundaries.iter().enumerate() {
                let prefix = &path[..end];
                let is_last = n == last;
                let Some(Found { index, .. }) = self.find(prefix)? else {
                    return Err(ErrorKind::not_found(query));
                };
                let entry = self.entry_at(index)?;
                match entry.body {
                    Body::Dir { .. } => {
                        if is_last {
                            return Ok(entry);
                        }
                    }
                    Body::File { .. } => {
                        if is_last {
                            return Ok(entry);
                        }
                        return Err(ErrorKind::NotADir {
                            path: prefix.to_owned(),
                            kind: Kind::File,
                        });
                    }
                    Body::Symlink(target) => {
                        if is_last && !follow_last {
                            return Ok(entry);
                        }
                        hops += 1;
                        if hops > MAX_SYMLINK_HOPS {
                            return Err(ErrorKind::SymlinkLoop {
                                path: query.to_owned(),
                            });
                        }
                        let escapes = || ErrorKind::SymlinkEscapes {
                            path: prefix.to_owned(),
                            target: target.to_owned(),
                        };
                        if target.starts_with('/') {
                            return Err(escapes());
                        }
                        let rest = &path[end..];
                        let joined = format!("{}{rest}", path::join(path::parent(prefix), target));
                        path = normalized(&joined).map_err(|_| escapes())?.into_owned();
                        continue 'restart;
                    }
                }
            }
            // Only reached for the root (no components): it is a directory.
            return self.entry_at_inner(0, None);
        }
    }
}
