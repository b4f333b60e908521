//! What `cargo xtask release` asks of crates.io and of the crates' READMEs before a release:
//! whether each name is free or already ours, whether a version was ever published, and whether
//! a README links into a sibling folder (`../`), which the registry renders as a broken link.
//!
//! crates.io is reached only through cargo: `cargo info NAME` (latest version and repository)
//! and `cargo info NAME@VERSION` (that exact version), run from a directory outside the
//! workspace, since inside it `cargo info` describes the local crate. (`cargo search` would do
//! for the names too, but it needs the web API, which mirrors often do not serve; `cargo info`
//! needs only the index.) When the registry cannot be reached, or cargo is offline
//! (`CARGO_NET_OFFLINE`), the answer is [`Registry::Unreachable`] with cargo's reason, and the
//! release says which checks it could not make.
//!
//! The decisions are plain functions of the answers ([`name_verdict`], [`plan_version`],
//! [`parent_links`]), tested without a network.

use semver::Version;
use std::path::Path;
use std::process::Command;

/// What `cargo info` said about a name (or a `NAME@VERSION`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registry {
    /// No such crate (or no such version of it).
    Missing,
    /// The crate (at the version asked, or its latest).
    Found {
        /// The version described.
        version: String,
        /// Its `repository` URL, if it gives one.
        repository: Option<String>,
    },
    /// The registry did not answer: cargo's reason.
    Unreachable(String),
}

/// Whether a name can be published by us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameVerdict {
    /// Nobody has published it.
    Free,
    /// Published already, from our repository.
    Ours {
        /// Its latest version on the registry.
        latest: String,
    },
    /// Another project's.
    Taken {
        /// That project's repository, if it names one.
        repository: Option<String>,
    },
    /// The registry could not be asked: why.
    Unknown(String),
}

/// The `cargo info` answer in an exit status and its output.
pub fn parse_cargo_info(success: bool, stdout: &str, stderr: &str) -> Registry {
    if success {
        let field = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_owned())
        };
        return match field("version:") {
            // "version: 0.0.10 (latest 0.0.11)"
            Some(version) => Registry::Found {
                version: version
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                repository: field("repository:"),
            },
            None => {
                Registry::Unreachable(format!("cargo info printed no version: {}", stdout.trim()))
            }
        };
    }
    if stderr.contains("could not find `") {
        return Registry::Missing;
    }
    // The last line of cargo's error chain is the most specific.
    let reason = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("Updating") && *l != "Caused by:")
        .unwrap_or("cargo info failed without a message");
    Registry::Unreachable(reason.to_owned())
}

/// Asks crates.io about `spec` (`NAME` or `NAME@VERSION`) with `cargo info`, from a directory
/// outside any workspace.
pub fn ask_registry(spec: &str) -> Registry {
    if std::env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true" || v == "1") {
        return Registry::Unreachable("cargo is offline (CARGO_NET_OFFLINE)".to_owned());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["info", "--registry", "crates-io", spec])
        .current_dir(outside_workspace())
        .output();
    match output {
        Ok(out) => parse_cargo_info(
            out.status.success(),
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        ),
        Err(err) => Registry::Unreachable(format!("cannot run cargo info: {err}")),
    }
}

/// A directory in no cargo workspace: the system's temporary directory, or `/` should that
/// lie inside one.
fn outside_workspace() -> std::path::PathBuf {
    let temp = std::env::temp_dir();
    let in_a_workspace = temp.ancestors().any(|d| d.join("Cargo.toml").is_file());
    if in_a_workspace {
        std::path::PathBuf::from("/")
    } else {
        temp
    }
}

/// Whether two repository URLs name the same repository (scheme, `www.`, case, a trailing
/// `/` or `.git` aside).
pub fn same_repository(a: &str, b: &str) -> bool {
    fn norm(url: &str) -> String {
        let url = url.trim().to_ascii_lowercase();
        let url = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(&url);
        let url = url.strip_prefix("www.").unwrap_or(url);
        let url = url.trim_end_matches('/');
        url.strip_suffix(".git").unwrap_or(url).to_owned()
    }
    norm(a) == norm(b)
}

/// Whether a name is ours to publish, from the registry's answer about it and our repository.
pub fn name_verdict(answer: &Registry, our_repository: &str) -> NameVerdict {
    match answer {
        Registry::Missing => NameVerdict::Free,
        Registry::Found {
            version,
            repository,
        } => match repository {
            Some(repo) if same_repository(repo, our_repository) => NameVerdict::Ours {
                latest: version.clone(),
            },
            _ => NameVerdict::Taken {
                repository: repository.clone(),
            },
        },
        Registry::Unreachable(why) => NameVerdict::Unknown(why.clone()),
    }
}

/// What a release of a version does with the workspace's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionPlan {
    /// The requested version is above the current one: every crate is bumped to it.
    Bump,
    /// The requested version is the current one, which no crate ever published: released as it
    /// is, nothing bumped.
    FirstRelease,
}

/// Whether a version was published, as far as the registry said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// No crate of the workspace has it on the registry.
    Nowhere,
    /// These crates have it already.
    By(Vec<String>),
    /// The registry could not be asked: why.
    Unknown(String),
}

/// Whether `requested` can be released from a workspace at `current`, given what the registry
/// says of `requested` (asked only when it equals `current`).
pub fn plan_version(
    current: &Version,
    requested: &Version,
    published: impl FnOnce() -> Published,
) -> Result<VersionPlan, String> {
    if requested > current {
        return Ok(VersionPlan::Bump);
    }
    if requested < current {
        return Err(format!(
            "{requested} is not greater than the current version {current}"
        ));
    }
    match published() {
        Published::Nowhere => Ok(VersionPlan::FirstRelease),
        Published::By(crates) => Err(format!(
            "{requested} is the current version and is published already ({}); release a greater version",
            crates.join(", ")
        )),
        Published::Unknown(why) => Err(format!(
            "{requested} is the current version, released only if no crate ever published it, and crates.io cannot say ({why}); retry with the network, or release a greater version"
        )),
    }
}

/// The `../` links of a Markdown text (inline `[t](../x)`, reference `[t]: ../x`, HTML
/// `href="../x"` / `src="../x"`), as (line number from 1, target). crates.io renders a README
/// outside its repository folder, so such a link is broken there.
pub fn parent_links(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in markdown.lines().enumerate() {
        let mut starts = Vec::new();
        for opener in ["](", "href=\"", "src=\"", "href='", "src='"] {
            starts.extend(line.match_indices(opener).map(|(at, o)| at + o.len()));
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(at) = trimmed.find("]: ")
        {
            starts.push(line.len() - trimmed.len() + at + 3);
        }
        starts.sort_unstable();
        for start in starts {
            let rest = line[start..].trim_start_matches('<').trim_start();
            let rest = rest.strip_prefix("./").unwrap_or(rest);
            if rest.starts_with("../") {
                let end = rest.find([')', '"', '\'', '>', ' ']).unwrap_or(rest.len());
                found.push((i + 1, rest[..end].to_owned()));
            }
        }
    }
    found
}

/// The `../` links of the README at `path`, as `path:line: target` lines.
pub fn readme_problems(path: &Path) -> std::io::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(parent_links(&text)
        .into_iter()
        .map(|(line, target)| {
            format!(
                "{}:{line}: `{target}` leaves the crate's folder (broken on crates.io); link to the repository instead",
                path.display()
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "https://github.com/array-files/array-files";

    #[test]
    fn cargo_info_answers() {
        let found = "filepack #media\ncontent-addressed packages\nversion: 0.0.10 (latest 0.0.11)\nlicense: CC0-1.0\nrepository: https://github.com/casey/filepack\n";
        assert_eq!(
            parse_cargo_info(true, found, "    Updating crates.io index\n"),
            Registry::Found {
                version: "0.0.10".into(),
                repository: Some("https://github.com/casey/filepack".into()),
            }
        );
        let missing = "    Updating crates.io index\nerror: could not find `treepack` in registry `https://github.com/rust-lang/crates.io-index`\n";
        assert_eq!(parse_cargo_info(false, "", missing), Registry::Missing);
        let offline = "    Updating crates.io index\nerror: failed to download\n\nCaused by:\n  [7] Could not connect to server\n";
        assert_eq!(
            parse_cargo_info(false, "", offline),
            Registry::Unreachable("[7] Could not connect to server".into())
        );
    }

    #[test]
    fn names_are_free_ours_taken_or_unknown() {
        assert_eq!(name_verdict(&Registry::Missing, OURS), NameVerdict::Free);
        let ours = Registry::Found {
            version: "0.1.0".into(),
            repository: Some("https://github.com/Array-Files/array-files.git/".into()),
        };
        assert_eq!(
            name_verdict(&ours, OURS),
            NameVerdict::Ours {
                latest: "0.1.0".into()
            }
        );
        let theirs = Registry::Found {
            version: "0.0.11".into(),
            repository: Some("https://github.com/casey/filepack".into()),
        };
        assert_eq!(
            name_verdict(&theirs, OURS),
            NameVerdict::Taken {
                repository: Some("https://github.com/casey/filepack".into())
            }
        );
        let anonymous = Registry::Found {
            version: "1.0.0".into(),
            repository: None,
        };
        assert_eq!(
            name_verdict(&anonymous, OURS),
            NameVerdict::Taken { repository: None }
        );
        assert_eq!(
            name_verdict(&Registry::Unreachable("offline".into()), OURS),
            NameVerdict::Unknown("offline".into())
        );
        assert!(!same_repository(
            "https://github.com/array-files/array-files-old",
            OURS
        ));
    }

    #[test]
    fn versions_bump_or_release_the_current_one_never_published() {
        let v = |s: &str| Version::parse(s).unwrap();
        let unasked =
            || -> Published { panic!("the registry is asked only for the current version") };
        assert_eq!(
            plan_version(&v("0.1.0"), &v("0.2.0"), unasked),
            Ok(VersionPlan::Bump)
        );
        let err = plan_version(&v("0.2.0"), &v("0.1.0"), unasked).unwrap_err();
        assert!(
            err.contains("not greater than the current version 0.2.0"),
            "{err}"
        );
        assert_eq!(
            plan_version(&v("0.1.0"), &v("0.1.0"), || Published::Nowhere),
            Ok(VersionPlan::FirstRelease)
        );
        let err = plan_version(&v("0.1.0"), &v("0.1.0"), || {
            Published::By(vec!["npy-format".into()])
        })
        .unwrap_err();
        assert!(err.contains("published already (npy-format)"), "{err}");
        let err = plan_version(&v("0.1.0"), &v("0.1.0"), || {
            Published::Unknown("offline".into())
        })
        .unwrap_err();
        assert!(err.contains("cannot say (offline)"), "{err}");
    }

    #[test]
    fn parent_links_are_found_in_every_form() {
        let text = "# t\n\nSee [the README](../README.md) and [docs](https://docs.rs/x).\n\
                    [local](FORMAT.md) [dot](./../BENCHMARKS.md)\n\
                    [ref]: ../LICENSE\n<img src=\"../logo.png\"> <a href='../x.md'>x</a>\n\
                    [ok](https://github.com/o/r/blob/main/README.md)\n";
        assert_eq!(
            parent_links(text),
            [
                (3, "../README.md".to_owned()),
                (4, "../BENCHMARKS.md".to_owned()),
                (5, "../LICENSE".to_owned()),
                (6, "../logo.png".to_owned()),
                (6, "../x.md".to_owned()),
            ]
        );
        assert!(parent_links("[a](FORMAT.md) [b](#x) `../not/a/link`\n").is_empty());
    }

    /// Every crate README in the workspace renders on crates.io: no `../` link.
    #[test]
    fn workspace_readmes_have_no_parent_links() {
        let root = crate::util::workspace_root();
        let mut problems = Vec::new();
        for entry in std::fs::read_dir(root).unwrap() {
            let dir = entry.unwrap().path();
            let readme = dir.join("README.md");
            if dir.join("Cargo.toml").is_file() && readme.is_file() {
                problems.extend(readme_problems(&readme).unwrap());
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
