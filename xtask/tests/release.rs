//! `cargo xtask release` on a small workspace in a temporary git repository: the dry run
//! changes nothing, a dirty tree is refused, a real release bumps, moves the changelog,
//! packages, commits and tags. Tests are skipped (`--skip-tests`: the small workspace has no
//! `cargo xtask`); `cargo package` runs for real, offline (the crates have no dependencies).

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = r#"[workspace]
resolver = "3"
members = ["alpha", "beta", "tool"]

[workspace.package]
version = "0.1.0"
edition = "2024"
license = "MIT OR Apache-2.0"
repository = "https://example.com/r"

[workspace.dependencies]
# Internal crates.
alpha = { path = "alpha", version = "0.1.0" }
"#;

const CHANGELOG: &str = "# Changelog\n\n## [Unreleased]\n\n### Added\n- alpha and beta\n";

/// Writes `text` to `root/path`, creating directories.
fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A command with a git identity and no network.
fn command(program: &str, root: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("CARGO_NET_OFFLINE", "true");
    command
}

fn git(root: &Path, args: &[&str]) -> String {
    let output = command("git", root).args(args).output().unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A workspace of `alpha`, `beta` (depends on alpha) and `tool` (publish = false), committed.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Cargo.toml", ROOT);
    write(root, "CHANGELOG.md", CHANGELOG);
    write(root, ".gitignore", "/target\n");
    for (name, deps) in [
        ("alpha", ""),
        ("beta", "alpha.workspace = true\n"),
        ("tool", "beta = { path = \"../beta\" }\n"),
    ] {
        let publish = if name == "tool" {
            "publish = false\n"
        } else {
            ""
        };
        write(
            root,
            &format!("{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\ndescription = \"{name}\"\nversion.workspace = true\nedition.workspace = true\nlicense.workspace = true\nrepository.workspace = true\n{publish}\n[dependencies]\n{deps}"
            ),
        );
        write(root, &format!("{name}/src/lib.rs"), "//! A crate.\n");
    }
    let lock = command(env!("CARGO"), root)
        .args(["generate-lockfile", "--offline"])
        .output()
        .unwrap();
    assert!(lock.status.success(), "{lock:?}");
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "initial"]);
    dir
}

fn release(root: &Path, args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_xtask"), root)
        .arg("release")
        .args(args)
        .args(["--skip-tests", "--workspace-root"])
        .arg(root)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn dry_run_prints_diffs_and_changes_nothing() {
    let dir = workspace();
    let root = dir.path();
    let before = git(root, &["rev-parse", "HEAD"]);
    let out = release(root, &["0.2.0", "--dry-run"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("1. alpha") && stderr.contains("2. beta"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not published (publish = false): tool"),
        "{stderr}"
    );
    assert!(
        stdout.contains("-version = \"0.1.0\"\n+version = \"0.2.0\"\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+alpha = { path = \"alpha\", version = \"0.2.0\" }"),
        "{stdout}"
    );
    assert!(stdout.contains("+## [0.2.0] - "), "{stdout}");
    assert!(
        stdout.contains("cargo publish -p alpha\ncargo publish -p beta\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("cargo publish -p tool"), "{stdout}");
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    assert_eq!(git(root, &["rev-parse", "HEAD"]), before);
    assert_eq!(git(root, &["tag", "--list"]), "");
    assert_eq!(
        std::fs::read_to_string(root.join("Cargo.toml")).unwrap(),
        ROOT
    );
    // Packaged at the new version, from a scratch copy that is gone.
    assert!(root.join("target/package/beta-0.2.0.crate").is_file());
    assert!(!root.join("target/package/beta-0.1.0.crate").exists());
    assert!(!root.join("target/xtask-release/0.2.0").exists());
    // Offline, the names cannot be checked: said, not failed.
    assert!(
        stderr.contains("crates.io cannot be reached (cargo is offline"),
        "{stderr}"
    );
}

#[test]
fn a_readme_link_out_of_the_crate_folder_is_refused() {
    let dir = workspace();
    let root = dir.path();
    write(
        root,
        "alpha/README.md",
        "# alpha\n\nSee the [workspace README](../README.md).\n",
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "readme"]);
    let out = release(root, &["0.2.0", "--dry-run"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("README.md:3: `../README.md` leaves the crate's folder"),
        "{stderr}"
    );
    let out = release(root, &["0.2.0"]);
    assert!(!out.status.success());
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

#[test]
fn refuses_dirty_trees_and_versions_not_above_the_current() {
    let dir = workspace();
    let root = dir.path();
    let out = release(root, &["0.0.9", "--dry-run"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not greater than the current version 0.1.0"));
    // The current version is released only if crates.io says it never was; offline, it
    // cannot say, and the release says so.
    let out = release(root, &["0.1.0", "--dry-run"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("crates.io cannot say (cargo is offline"),
        "{}",
        text(&out.stderr)
    );
    let out = release(root, &["zero", "--dry-run"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a semver version"));

    write(root, "alpha/src/lib.rs", "//! Changed.\n");
    let out = release(root, &["0.2.0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("uncommitted changes"),
        "{}",
        text(&out.stderr)
    );
    // A dry run still runs every check, then fails saying why a release would refuse.
    let out = release(root, &["0.2.0", "--dry-run"]);
    assert!(!out.status.success());
    assert!(text(&out.stdout).contains("cargo publish -p beta"));
    assert!(text(&out.stderr).contains("a real release would refuse"));
    assert_eq!(
        git(root, &["status", "--porcelain"]),
        " M alpha/src/lib.rs\n"
    );
}

#[test]
fn release_bumps_commits_and_tags() {
    let dir = workspace();
    let root = dir.path();
    let out = release(root, &["0.2.0"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("cargo publish -p alpha\ncargo publish -p beta\n"),
        "{stdout}"
    );
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    assert_eq!(git(root, &["log", "-1", "--format=%s"]), "Release 0.2.0\n");
    assert_eq!(git(root, &["tag", "--list"]), "v0.2.0\n");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("version = \"0.2.0\"\n"));
    assert!(
        manifest.contains("# Internal crates.\nalpha = { path = \"alpha\", version = \"0.2.0\" }")
    );
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).unwrap();
    assert!(
        changelog.starts_with("# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - "),
        "{changelog}"
    );
    assert!(
        changelog.ends_with("\n\n### Added\n- alpha and beta\n"),
        "{changelog}"
    );
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"beta\"\nversion = \"0.2.0\""),
        "{lock}"
    );
    assert!(root.join("target/package/beta-0.2.0.crate").is_file());

    // Nothing left under Unreleased: the next release refuses before changing anything.
    let out = release(root, &["0.3.0"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Unreleased section is empty"));
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}
