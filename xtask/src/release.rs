//! `cargo xtask release VERSION [--dry-run]`: one command from a clean tree to a tagged release.
//!
//! 1. Refuses a dirty work tree (`git status --porcelain` prints anything).
//! 2. Reads the package graph with `cargo metadata --no-deps` and orders the publishable members
//!    (`publish` not `false`) so every crate comes after the workspace crates it depends on
//!    (normal and build dependencies; dev-dependencies without a version are dropped by cargo
//!    when it packages, so they do not order anything).
//! 3. Checks VERSION: semver and tag `vVERSION` new; greater than `[workspace.package] version`,
//!    or equal to it when no publishable crate has that version on crates.io (the first release
//!    of a version the tree already carries: nothing is bumped).
//!
//!    Then asks crates.io (through `cargo info`, see [`crate::publish`]) whether each name is
//!    free or already ours (the registry's `repository` is the crate's own), and refuses a name
//!    another project holds, or a version the registry already has. When crates.io cannot be
//!    reached it says so and goes on: the names are checked again by `cargo publish`. It
//!    refuses a crate README with a `../` link (broken on crates.io).
//! 4. Bumps, with `toml_edit` (layout and comments kept): `[workspace.package] version`, the
//!    `version` of every `[workspace.dependencies]` entry naming a workspace crate, and in each
//!    member a literal `package.version` and any internal dependency with a `version` of its own.
//! 5. Moves CHANGELOG.md's `## [Unreleased]` section under `## [VERSION] - YYYY-MM-DD` (UTC),
//!    leaving an empty Unreleased section (and updates `[Unreleased]:` compare links if any).
//! 6. Runs `cargo xtask test`.
//! 7. Runs `cargo package` for every publishable crate at once, in publish order. A plain
//!    `cargo publish --dry-run -p B` fails while B's workspace dependency A is not on crates.io
//!    at the new version; `cargo package` with several packages (cargo ≥ 1.90) resolves them
//!    against each other's freshly made `.crate` files and builds each one from its tarball, which
//!    is the check `cargo publish` would do.
//! 8. `git commit -am "Release VERSION"` and `git tag -a vVERSION`, then prints the
//!    `cargo publish -p ...` commands in order.
//!
//! If a step after 4 fails, the files it changed are restored, so a failed release leaves the
//! tree as it found it.
//!
//! `--dry-run` prints the publish order, every change as a unified diff, runs the tests on the
//! tree as it is, and packages the crates as the release would: in a scratch copy of the work
//! tree (tracked and untracked files, `.gitignore`d ones left out) under
//! `TARGET/xtask-release/VERSION` with the edits written into it, so the `.crate` files in
//! `TARGET/package` carry the new version. The copy is removed afterwards and the work tree is
//! never written. It fails at the end if a real release would have refused.

use crate::publish::{self, NameVerdict, Published, Registry, VersionPlan, plan_version};
use crate::util::{self, section};
use anyhow::{Context, Result, bail, ensure};
use semver::Version;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use toml_edit::{DocumentMut, Item, Value};

/// Arguments of `cargo xtask release`.
#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// The new version, semver and greater than the current one (e.g. 0.2.0).
    version: String,
    /// Do every check and print every change (as diffs), leaving the tree untouched.
    #[arg(long)]
    dry_run: bool,
    /// Skip `cargo xtask test` (only for xtask's own tests of this command).
    #[arg(long, hide = true)]
    skip_tests: bool,
    /// The workspace to release instead of this one (only for xtask's own tests).
    #[arg(long, hide = true)]
    workspace_root: Option<PathBuf>,
}

/// A workspace member, as `cargo metadata` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Package name.
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// Whether it may be published (`publish` is not `false` / `[]`).
    pub publishable: bool,
    /// Names of its path dependencies that order publishing (normal and build).
    pub path_deps: Vec<String>,
    /// Its README (`readme` in its manifest), as an absolute path.
    pub readme: Option<PathBuf>,
    /// Its `repository` URL.
    pub repository: Option<String>,
}

/// The members of the workspace at `root`, in `cargo metadata`'s order.
fn members(root: &Path) -> Result<Vec<Member>> {
    let output = util::cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .context("running cargo metadata")?;
    ensure!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    parse_members(&metadata)
}

/// The members in `cargo metadata --format-version 1` output.
pub fn parse_members(metadata: &serde_json::Value) -> Result<Vec<Member>> {
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?;
    let mut members = Vec::new();
    for package in packages {
        let name = package["name"]
            .as_str()
            .context("cargo metadata: package without a name")?;
        // `publish`: null means anywhere, a list names the registries, `[]` means never.
        let publishable = match &package["publish"] {
            serde_json::Value::Array(registries) => !registries.is_empty(),
            _ => true,
        };
        let path_deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["path"].is_string() && dep["kind"].as_str() != Some("dev"))
            .filter_map(|dep| dep["name"].as_str().map(str::to_owned))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let manifest_path = PathBuf::from(
            package["manifest_path"]
                .as_str()
                .context("cargo metadata: package without a manifest path")?,
        );
        let readme = package["readme"]
            .as_str()
            .map(|readme| manifest_path.parent().unwrap_or(Path::new("")).join(readme));
        members.push(Member {
            name: name.to_owned(),
            manifest_path,
            publishable,
            path_deps,
            readme,
            repository: package["repository"].as_str().map(str::to_owned),
        });
    }
    Ok(members)
}

/// The publishable members in an order where each comes after its workspace dependencies
/// (ties kept in `members` order). Fails on a cycle or on a publishable crate that depends on
/// an unpublishable one.
pub fn publish_order(members: &[Member]) -> Result<Vec<String>> {
    let publishable: BTreeSet<&str> = members
        .iter()
        .filter(|m| m.publishable)
        .map(|m| m.name.as_str())
        .collect();
    let names: BTreeSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    for member in members.iter().filter(|m| m.publishable) {
        for dep in &member.path_deps {
            ensure!(
                !names.contains(dep.as_str()) || publishable.contains(dep.as_str()),
                "{} depends on {dep}, which is not publishable (publish = false)",
                member.name
            );
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut left: Vec<&Member> = members.iter().filter(|m| m.publishable).collect();
    while !left.is_empty() {
        let ready = left.iter().position(|m| {
            m.path_deps
                .iter()
                .all(|d| !publishable.contains(d.as_str()) || order.contains(d))
        });
        match ready {
            Some(i) => order.push(left.remove(i).name.clone()),
            None => bail!(
                "the workspace dependencies of {} form a cycle",
                left.iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(order)
}

/// Replaces the string `value` by `new`, keeping its surrounding whitespace and comments;
/// returns the old string, or `None` when `value` is not a string.
fn replace_str(value: &mut Value, new: &str) -> Option<String> {
    let old = value.as_str()?.to_owned();
    let decor = value.decor().clone();
    *value = Value::from(new);
    *value.decor_mut() = decor;
    Some(old)
}

/// The crate a dependency entry `key = ...` names: its `package = "..."`, else `key`.
fn dep_crate<'a>(key: &'a str, item: &'a Item) -> &'a str {
    item.as_table_like()
        .and_then(|t| t.get("package"))
        .and_then(Item::as_str)
        .unwrap_or(key)
}

/// Sets the version requirement of a dependency entry to `version` when it has one of its own
/// (`"x"` or `{ version = "x" }`; `{ workspace = true }` has none). With `add`, a table entry
/// without a version gets one. Returns `(old, new)` when something changed.
fn bump_dep(item: &mut Item, version: &str, add: bool) -> Option<(String, String)> {
    if let Some(value) = item.as_value_mut().filter(|v| v.is_str()) {
        let old = replace_str(value, version)?;
        return (old != version).then(|| (old, version.to_owned()));
    }
    if add
        && let Some(inline) = item.as_inline_table_mut()
        && !inline.contains_key("version")
        && !inline.contains_key("workspace")
    {
        // `{ path = "a" }`: the space before `}` belongs to the last value; move it to
        // the new one, so the result reads `{ path = "a", version = "x" }`.
        let mut new = Value::from(version);
        if let Some((_, last)) = inline.iter_mut().last()
            && let Some(suffix) = last.decor().suffix().cloned()
        {
            last.decor_mut().set_suffix("");
            new.decor_mut().set_suffix(suffix);
        }
        new.decor_mut().set_prefix(" ");
        inline.insert("version", new);
        return Some(("(none)".to_owned(), version.to_owned()));
    }
    let table = item.as_table_like_mut()?;
    if table.contains_key("workspace") {
        return None;
    }
    match table.get_mut("version") {
        Some(entry) => {
            let old = replace_str(entry.as_value_mut()?, version)?;
            (old != version).then(|| (old, version.to_owned()))
        }
        None if add => {
            table.insert("version", Item::Value(Value::from(version)));
            Some(("(none)".to_owned(), version.to_owned()))
        }
        None => None,
    }
}

/// Bumps the dependency tables of `table` (`dependencies`, `dev-dependencies`,
/// `build-dependencies`) that name crates in `internal`; `at` prefixes the change descriptions.
fn bump_dep_tables(
    table: &mut dyn toml_edit::TableLike,
    at: &str,
    internal: &BTreeSet<String>,
    version: &str,
    changes: &mut Vec<String>,
) {
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = table.get_mut(kind).and_then(Item::as_table_like_mut) else {
            continue;
        };
        for (key, item) in deps.iter_mut() {
            if !internal.contains(dep_crate(key.get(), item)) {
                continue;
            }
            if let Some((old, new)) = bump_dep(item, version, false) {
                changes.push(format!("{at}{kind}.{}: {old} -> {new}", key.get()));
            }
        }
    }
}

/// Bumps the root manifest: `[workspace.package] version` and the `[workspace.dependencies]`
/// entries of the crates in `internal` (adding a `version` where a path entry has none, since
/// a crate cannot be published with a version-less dependency). Member-style tables in the root
/// (a root package) are bumped as by [`bump_member_manifest`]. Returns what changed, in words.
pub fn bump_root_manifest(
    doc: &mut DocumentMut,
    internal: &BTreeSet<String>,
    version: &str,
) -> Vec<String> {
    let mut changes = Vec::new();
    if let Some(value) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(|p| p.get_mut("version"))
        .and_then(Item::as_value_mut)
        && let Some(old) = replace_str(value, version)
    {
        changes.push(format!("workspace.package.version: {old} -> {version}"));
    }
    if let Some(deps) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(Item::as_table_like_mut)
    {
        for (key, item) in deps.iter_mut() {
            if !internal.contains(dep_crate(key.get(), item)) {
                continue;
            }
            if let Some((old, new)) = bump_dep(item, version, true) {
                changes.push(format!(
                    "workspace.dependencies.{}: {old} -> {new}",
                    key.get()
                ));
            }
        }
    }
    changes.extend(bump_member_manifest(doc, internal, version));
    changes
}

/// Bumps a member manifest: a literal `package.version` (not `version.workspace = true`) and
/// every internal dependency with a `version` of its own, target-specific tables included.
pub fn bump_member_manifest(
    doc: &mut DocumentMut,
    internal: &BTreeSet<String>,
    version: &str,
) -> Vec<String> {
    let mut changes = Vec::new();
    if let Some(value) = doc
        .get_mut("package")
        .and_then(|p| p.get_mut("version"))
        .and_then(Item::as_value_mut)
        && let Some(old) = replace_str(value, version)
    {
        changes.push(format!("package.version: {old} -> {version}"));
    }
    bump_dep_tables(doc.as_table_mut(), "", internal, version, &mut changes);
    if let Some(targets) = doc.get_mut("target").and_then(Item::as_table_like_mut) {
        for (cfg, item) in targets.iter_mut() {
            if let Some(table) = item.as_table_like_mut() {
                let at = format!("target.{}.", cfg.get());
                bump_dep_tables(table, &at, internal, version, &mut changes);
            }
        }
    }
    changes
}

/// Whether `line` is the heading of the Unreleased section.
fn is_unreleased_heading(line: &str) -> bool {
    line.trim_end().eq_ignore_ascii_case("## [unreleased]")
}

/// CHANGELOG.md with its Unreleased section moved under `## [VERSION] - DATE` and an empty
/// Unreleased section above it. A `[Unreleased]: .../compare/vOLD...HEAD` link, if present,
/// becomes `.../compare/vVERSION...HEAD` with a `[VERSION]: .../compare/vOLD...vVERSION` link
/// below it. Fails if there is no Unreleased section, if it is empty, or if VERSION is already
/// there.
pub fn release_changelog(text: &str, version: &str, date: &str) -> Result<String> {
    let lines: Vec<&str> = text.lines().collect();
    ensure!(
        !lines
            .iter()
            .any(|l| l.starts_with(&format!("## [{version}]"))),
        "CHANGELOG.md already has a section for {version}"
    );
    let start = lines
        .iter()
        .position(|l| is_unreleased_heading(l))
        .context("CHANGELOG.md has no `## [Unreleased]` section")?;
    let is_link_ref = |l: &str| l.starts_with('[') && l.contains("]: ");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## ") || is_link_ref(l))
        .map_or(lines.len(), |i| start + 1 + i);
    let body = &lines[start + 1..end];
    ensure!(
        body.iter().any(|l| !l.trim().is_empty()),
        "CHANGELOG.md: the Unreleased section is empty; nothing to release"
    );
    let first = body.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let last = body.iter().rposition(|l| !l.trim().is_empty()).unwrap_or(0);

    let mut out: Vec<String> = lines[..start].iter().map(|l| (*l).to_owned()).collect();
    out.push(lines[start].trim_end().to_owned());
    out.push(String::new());
    out.push(format!("## [{version}] - {date}"));
    out.push(String::new());
    out.extend(body[first..=last].iter().map(|l| (*l).to_owned()));
    if end < lines.len() {
        out.push(String::new());
    }
    for line in &lines[end..] {
        let lower = line.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("[unreleased]: ") {
            let url = &line[line.len() - rest.len()..];
            if let Some((base, range)) = url.rsplit_once("/compare/")
                && let Some(previous) = range.strip_suffix("...HEAD")
            {
                out.push(format!("[Unreleased]: {base}/compare/v{version}...HEAD"));
                out.push(format!(
                    "[{version}]: {base}/compare/{previous}...v{version}"
                ));
                continue;
            }
        }
        out.push((*line).to_owned());
    }
    let mut result = out.join("\n");
    if text.ends_with('\n') {
        result.push('\n');
    }
    Ok(result)
}

/// A file the release rewrites: where, and its text before and after.
#[derive(Debug)]
struct Edit {
    /// The file.
    path: PathBuf,
    /// Its text now.
    old: String,
    /// Its text after the release.
    new: String,
    /// What changes in it, in words.
    changes: Vec<String>,
}

/// The path of `path` relative to `root`, for messages.
fn relative<'a>(path: &'a Path, root: &Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// `git ARGS` in `root`: its trimmed stdout, failing with its stderr.
fn git(root: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    ensure!(
        output.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned())
}

/// Runs `cargo xtask release`.
pub fn run(args: ReleaseArgs) -> Result<()> {
    let root = match &args.workspace_root {
        Some(root) => std::fs::canonicalize(root)
            .with_context(|| format!("workspace root {}", root.display()))?,
        None => util::workspace_root().to_owned(),
    };
    let dry = args.dry_run;
    // Reasons a real release would refuse, collected by a dry run so that it shows all of them.
    let mut refusals: Vec<String> = Vec::new();

    check_work_tree(&root, dry, &mut refusals)?;
    let (members, order) = show_publish_order(&root)?;
    let bump = check_version(&root, &args.version, &order)?;
    check_registry(&members, &order, &bump.version, dry, &mut refusals)?;
    check_readmes(&members, dry, &mut refusals)?;
    let edits = plan_edits(
        &root,
        &members,
        bump.root,
        &bump.version.to_string(),
        &bump.plan,
    )?;
    show_edits(&root, &edits, dry, &bump.version.to_string());
    // The lock files `cargo update` and `cargo xtask test` may rewrite (fuzz/ has its own).
    let locks: Vec<(PathBuf, Option<Vec<u8>>)> =
        [root.join("Cargo.lock"), root.join("fuzz/Cargo.lock")]
            .into_iter()
            .map(|lock| {
                let before = std::fs::read(&lock).ok();
                (lock, before)
            })
            .collect();
    if !dry {
        write_edits(&edits)?;
    }
    let checked = check_packages(&root, &args, &order, &edits, &bump.version);
    if let Err(err) = checked {
        if !dry {
            eprintln!("xtask: release failed; restoring the files it changed");
            for edit in &edits {
                let _ = std::fs::write(&edit.path, &edit.old);
            }
            for (lock, before) in &locks {
                if let Some(before) = before {
                    let _ = std::fs::write(lock, before);
                }
            }
        }
        return Err(err);
    }
    commit_and_tag(&root, dry, &bump.version, &bump.tag)?;
    show_publish_commands(dry, &bump.tag, &order);
    if !refusals.is_empty() {
        bail!("a real release would refuse: {}", refusals.join("; "));
    }
    Ok(())
}

/// Step 1: a real release needs a clean work tree (its commit must hold only the release's own
/// changes); a dry run notes a dirty one as a refusal and goes on. Returns whether it is dirty.
fn check_work_tree(root: &Path, dry: bool, refusals: &mut Vec<String>) -> Result<bool> {
    section("release: the work tree");
    let status = git(root, &["status", "--porcelain"])?;
    let dirty = !status.trim().is_empty();
    if dirty {
        let message =
            format!("the work tree has uncommitted changes; commit or stash them first:\n{status}");
        if !dry {
            bail!("{message}");
        }
        eprintln!("    {message}");
        refusals.push("the work tree has uncommitted changes".to_owned());
    } else {
        eprintln!("    clean");
    }
    Ok(dirty)
}

/// The new version, its tag, the root manifest it will be written into, and whether the
/// crates are bumped to it or released at it as they are.
struct Bump {
    version: Version,
    tag: String,
    root: RootManifest,
    plan: VersionPlan,
}

/// The workspace's `Cargo.toml`, as read and as parsed for editing.
struct RootManifest {
    path: PathBuf,
    text: String,
    doc: DocumentMut,
}

/// Step 3: the new version must be semver, not tagged yet, and greater than the workspace's,
/// or equal to it when none of the crates in `order` has it on crates.io.
fn check_version(root: &Path, version: &str, order: &[String]) -> Result<Bump> {
    section("release: the version");
    let version =
        Version::parse(version).with_context(|| format!("{version:?} is not a semver version"))?;
    let path = root.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: DocumentMut = text
        .parse()
        .with_context(|| format!("parsing {}", path.display()))?;
    let current = doc
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(Item::as_str)
        .context("Cargo.toml has no [workspace.package] version")?;
    let current =
        Version::parse(current).with_context(|| format!("current version {current:?}"))?;
    let plan = plan_version(&current, &version, || published_anywhere(order, &version))
        .map_err(anyhow::Error::msg)?;
    let tag = format!("v{version}");
    ensure!(
        git(root, &["tag", "--list", &tag])?.is_empty(),
        "tag {tag} already exists"
    );
    match plan {
        VersionPlan::Bump => eprintln!("    {current} -> {version}, tag {tag}"),
        VersionPlan::FirstRelease => eprintln!(
            "    {version}, never published: released as it is (nothing bumped), tag {tag}"
        ),
    }
    Ok(Bump {
        version,
        tag,
        root: RootManifest { path, text, doc },
        plan,
    })
}

/// Whether any of the crates `names` has `version` on crates.io.
fn published_anywhere(names: &[String], version: &Version) -> Published {
    let mut by = Vec::new();
    for name in names {
        match publish::ask_registry(&format!("{name}@{version}")) {
            Registry::Missing => {}
            Registry::Found { .. } => by.push(name.clone()),
            Registry::Unreachable(why) => return Published::Unknown(why),
        }
    }
    if by.is_empty() {
        Published::Nowhere
    } else {
        Published::By(by)
    }
}

/// Step 3, continued: every name in `order` free on crates.io or ours (same repository), and
/// not published at `version` yet. A taken name is a refusal; an unreachable registry is said
/// and skipped (`cargo publish` asks again).
fn check_registry(
    members: &[Member],
    order: &[String],
    version: &Version,
    dry: bool,
    refusals: &mut Vec<String>,
) -> Result<()> {
    section("release: the names on crates.io (cargo info)");
    let mut found = Vec::new();
    for name in order {
        let ours = members
            .iter()
            .find(|m| &m.name == name)
            .and_then(|m| m.repository.clone())
            .unwrap_or_default();
        let verdict = publish::name_verdict(&publish::ask_registry(name), &ours);
        match verdict {
            NameVerdict::Free => eprintln!("    {name}: free"),
            NameVerdict::Ours { latest } => {
                eprintln!("    {name}: ours (latest {latest})");
                if Version::parse(&latest).is_ok_and(|latest| latest >= *version) {
                    found.push(format!(
                        "{name} has {latest} on crates.io already, not below {version}"
                    ));
                }
            }
            NameVerdict::Taken { repository } => {
                let by = repository.map_or_else(
                    || "a project that names no repository".to_owned(),
                    |r| r.to_string(),
                );
                eprintln!("    {name}: TAKEN by {by}");
                found.push(format!(
                    "the crate name {name} is taken on crates.io by {by}: rename the package"
                ));
            }
            NameVerdict::Unknown(why) => {
                eprintln!(
                    "    crates.io cannot be reached ({why}): the names are not checked (cargo publish will check them)"
                );
                return Ok(());
            }
        }
    }
    refuse(found, dry, refusals)
}

/// Step 3, continued: no crate README links into a sibling folder (`../`).
fn check_readmes(members: &[Member], dry: bool, refusals: &mut Vec<String>) -> Result<()> {
    section("release: crate READMEs as crates.io renders them (no ../ links)");
    let mut found = Vec::new();
    for member in members.iter().filter(|m| m.publishable) {
        if let Some(readme) = &member.readme {
            let problems = publish::readme_problems(readme)
                .with_context(|| format!("reading {}", readme.display()))?;
            found.extend(problems);
        }
    }
    if found.is_empty() {
        eprintln!("    ok");
    }
    refuse(found, dry, refusals)
}

/// Prints `found`; a real release fails on them, a dry run records them and goes on.
fn refuse(found: Vec<String>, dry: bool, refusals: &mut Vec<String>) -> Result<()> {
    for problem in &found {
        eprintln!("    {problem}");
    }
    if !found.is_empty() && !dry {
        bail!("{}", found.join("; "));
    }
    refusals.extend(found);
    Ok(())
}

/// Step 3: the members, and the order to publish the publishable ones in (each after its
/// workspace dependencies).
fn show_publish_order(root: &Path) -> Result<(Vec<Member>, Vec<String>)> {
    section("release: publish order (cargo metadata)");
    let members = members(root)?;
    let order = publish_order(&members)?;
    for (i, name) in order.iter().enumerate() {
        eprintln!("    {}. {name}", i + 1);
    }
    let unpublished: Vec<&str> = members
        .iter()
        .filter(|m| !m.publishable)
        .map(|m| m.name.as_str())
        .collect();
    if !unpublished.is_empty() {
        eprintln!(
            "    not published (publish = false): {}",
            unpublished.join(", ")
        );
    }
    Ok((members, order))
}

/// Step 4: every change, computed in memory: the version of the workspace and of every
/// inter-crate requirement, and the changelog's Unreleased section moved under the version.
fn plan_edits(
    root: &Path,
    members: &[Member],
    manifest: RootManifest,
    new_version: &str,
    plan: &VersionPlan,
) -> Result<Vec<Edit>> {
    let mut edits = match plan {
        VersionPlan::Bump => plan_bumps(members, manifest, new_version)?,
        VersionPlan::FirstRelease => Vec::new(),
    };
    edits.push(plan_changelog(root, new_version)?);
    Ok(edits)
}

/// The manifests with every version bumped to `new_version`.
fn plan_bumps(
    members: &[Member],
    mut manifest: RootManifest,
    new_version: &str,
) -> Result<Vec<Edit>> {
    let internal: BTreeSet<String> = members.iter().map(|m| m.name.clone()).collect();
    let mut edits = Vec::new();
    let changes = bump_root_manifest(&mut manifest.doc, &internal, new_version);
    edits.push(Edit {
        new: manifest.doc.to_string(),
        old: manifest.text,
        path: manifest.path.clone(),
        changes,
    });
    for member in members {
        if member.manifest_path == manifest.path {
            continue;
        }
        let text = std::fs::read_to_string(&member.manifest_path)
            .with_context(|| format!("reading {}", member.manifest_path.display()))?;
        let mut doc: DocumentMut = text
            .parse()
            .with_context(|| format!("parsing {}", member.manifest_path.display()))?;
        let changes = bump_member_manifest(&mut doc, &internal, new_version);
        if !changes.is_empty() {
            edits.push(Edit {
                path: member.manifest_path.clone(),
                new: doc.to_string(),
                old: text,
                changes,
            });
        }
    }
    Ok(edits)
}

/// CHANGELOG.md with its Unreleased section moved under `new_version`.
fn plan_changelog(root: &Path, new_version: &str) -> Result<Edit> {
    let changelog = root.join("CHANGELOG.md");
    let changelog_text = std::fs::read_to_string(&changelog)
        .with_context(|| format!("reading {}", changelog.display()))?;
    let date = util::format_date(util::unix_now());
    let changelog_new = release_changelog(&changelog_text, new_version, &date)?;
    Ok(Edit {
        path: changelog,
        old: changelog_text,
        new: changelog_new,
        changes: vec![format!(
            "Unreleased moved under ## [{new_version}] - {date}"
        )],
    })
}

/// Step 5: the changes, listed and as diffs.
fn show_edits(root: &Path, edits: &[Edit], dry: bool, new_version: &str) {
    section(if dry {
        "release: the changes it would make"
    } else {
        "release: the changes"
    });
    let mut by_path: Vec<&Edit> = edits.iter().collect();
    by_path.sort_by(|a, b| a.path.cmp(&b.path));
    for edit in by_path {
        for change in &edit.changes {
            eprintln!("    {}: {change}", relative(&edit.path, root).display());
        }
    }
    eprintln!(
        "    Cargo.lock: `cargo update --workspace` moves the workspace crates to {new_version}"
    );
    for edit in edits {
        let name = relative(&edit.path, root).display().to_string();
        let diff = similar::TextDiff::from_lines(&edit.old, &edit.new);
        print!(
            "{}",
            diff.unified_diff()
                .context_radius(2)
                .header(&format!("a/{name}"), &format!("b/{name}"))
        );
    }
}

/// Step 6 (a real release): the edits written, then Cargo.lock updated by `check_packages`.
fn write_edits(edits: &[Edit]) -> Result<()> {
    for edit in edits {
        std::fs::write(&edit.path, &edit.new)
            .with_context(|| format!("writing {}", edit.path.display()))?;
    }
    Ok(())
}

/// Step 7: Cargo.lock updated (a real release), every test, and `cargo package` of every
/// publishable crate in publish order: in the work tree for a real release (the edits are
/// written), in a scratch copy with the edits for a dry run.
fn check_packages(
    root: &Path,
    args: &ReleaseArgs,
    order: &[String],
    edits: &[Edit],
    version: &Version,
) -> Result<()> {
    let dry = args.dry_run;
    if !dry {
        section("release: cargo update --workspace (Cargo.lock)");
        util::run(
            util::cargo()
                .current_dir(root)
                .args(["update", "--workspace"]),
        )?;
    }
    if args.skip_tests {
        section("release: cargo xtask test skipped (--skip-tests)");
    } else {
        section("release: cargo xtask test");
        util::run(util::cargo().current_dir(root).args(["xtask", "test"]))?;
    }
    let scratch = if dry {
        Some(scratch_copy(root, edits, version)?)
    } else {
        None
    };
    let at = scratch.as_deref().unwrap_or(root);
    section(&format!(
        "release: cargo package, every publishable crate at {version}, in publish order{}",
        if dry { " (in a scratch copy)" } else { "" }
    ));
    let mut package = util::cargo();
    package
        .current_dir(at)
        .env("CARGO_TARGET_DIR", util::target_dir())
        .arg("package");
    for name in order {
        package.args(["-p", name]);
    }
    // A real release checked the tree was clean before bumping, so the only uncommitted
    // changes are its own; a dry run's copy holds the tree as it is plus the edits.
    package.arg("--allow-dirty");
    let packaged = util::run(&mut package);
    if let Some(scratch) = &scratch {
        let _ = std::fs::remove_dir_all(scratch);
    }
    packaged?;
    eprintln!(
        "    the .crate files: {}",
        util::target_dir().join("package").display()
    );
    Ok(())
}

/// A copy of the work tree (the files git tracks or would add: `.gitignore`d ones left out) at
/// `TARGET/xtask-release/VERSION`, with `edits` written into it. The work tree is only read.
fn scratch_copy(root: &Path, edits: &[Edit], version: &Version) -> Result<PathBuf> {
    let scratch = util::target_dir()
        .join("xtask-release")
        .join(version.to_string());
    section(&format!(
        "release: a scratch copy at {version} in {}",
        scratch.display()
    ));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("removing {}", scratch.display()))?;
    }
    let files = git(
        root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    )?;
    for file in files.split('\0').filter(|f| !f.is_empty()) {
        let from = root.join(file);
        if !from.is_file() {
            continue; // deleted in the work tree, or a submodule
        }
        let to = scratch.join(file);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::copy(&from, &to).with_context(|| format!("copying {file}"))?;
    }
    for edit in edits {
        let to = scratch.join(relative(&edit.path, root));
        std::fs::write(&to, &edit.new).with_context(|| format!("writing {}", to.display()))?;
    }
    eprintln!("    copied, {} files edited", edits.len());
    Ok(scratch)
}

/// Step 8: the release commit and its annotated tag (printed, for a dry run).
fn commit_and_tag(root: &Path, dry: bool, version: &Version, tag: &str) -> Result<()> {
    if dry {
        section("release: it would then run");
        println!("git commit -am \"Release {version}\"");
        println!("git tag -a {tag} -m \"Release {version}\"");
        return Ok(());
    }
    section("release: commit and tag");
    util::run(Command::new("git").current_dir(root).args([
        "commit",
        "-am",
        &format!("Release {version}"),
    ]))?;
    util::run(Command::new("git").current_dir(root).args([
        "tag",
        "-a",
        tag,
        "-m",
        &format!("Release {version}"),
    ]))
}

/// Step 9: what to run to publish.
fn show_publish_commands(dry: bool, tag: &str, order: &[String]) {
    section(if dry {
        "release: dry run done, nothing written; after a real release, publish with"
    } else {
        "release: done; push, then publish in this order"
    });
    println!("git push origin HEAD {tag}");
    for name in order {
        println!("cargo publish -p {name}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = r#"[workspace]
members = ["a", "b"]

[workspace.package]
version = "0.1.0"   # the one version
edition = "2024"

[workspace.dependencies]
# internal
a = { path = "a", version = "0.1.0", default-features = false }
b-renamed = { package = "b", path = "b", version = "0.1.0" }
c = { path = "c" }
serde = { version = "0.1.0", features = ["derive"] }
anyhow = "0.1.0"
"#;

    fn internal() -> BTreeSet<String> {
        ["a", "b", "c"].map(str::to_owned).into()
    }

    #[test]
    fn bumps_workspace_version_and_internal_requirements_only() {
        let mut doc: DocumentMut = ROOT.parse().unwrap();
        let changes = bump_root_manifest(&mut doc, &internal(), "0.2.0");
        let text = doc.to_string();
        assert!(text.contains("version = \"0.2.0\"   # the one version\n"));
        assert!(
            text.contains("a = { path = \"a\", version = \"0.2.0\", default-features = false }\n")
        );
        assert!(
            text.contains("b-renamed = { package = \"b\", path = \"b\", version = \"0.2.0\" }")
        );
        assert!(
            text.contains("c = { path = \"c\", version = \"0.2.0\" }"),
            "{text}"
        );
        assert!(text.contains("serde = { version = \"0.1.0\", features = [\"derive\"] }"));
        assert!(text.contains("anyhow = \"0.1.0\""));
        assert!(text.contains("# internal\n"));
        assert_eq!(
            changes,
            [
                "workspace.package.version: 0.1.0 -> 0.2.0",
                "workspace.dependencies.a: 0.1.0 -> 0.2.0",
                "workspace.dependencies.b-renamed: 0.1.0 -> 0.2.0",
                "workspace.dependencies.c: (none) -> 0.2.0",
            ]
        );
    }

    #[test]
    fn bumps_member_literals_and_leaves_workspace_inheritance() {
        let member = r#"[package]
name = "b"
version = "0.1.0"

[dependencies]
a.workspace = true
c = { version = "0.1.0", path = "../c" }
serde = "1"

[dev-dependencies]
a = { path = "../a" }

[target.'cfg(unix)'.dependencies]
c = { version = "=0.1.0", path = "../c" }

[build-dependencies.a]
path = "../a"
version = "0.1"
"#;
        let mut doc: DocumentMut = member.parse().unwrap();
        let changes = bump_member_manifest(&mut doc, &internal(), "0.2.0");
        assert_eq!(
            changes,
            [
                "package.version: 0.1.0 -> 0.2.0",
                "dependencies.c: 0.1.0 -> 0.2.0",
                "build-dependencies.a: 0.1 -> 0.2.0",
                "target.cfg(unix).dependencies.c: =0.1.0 -> 0.2.0",
            ]
        );
        let text = doc.to_string();
        assert!(text.contains("a.workspace = true\n"));
        assert!(text.contains("[dev-dependencies]\na = { path = \"../a\" }\n"));
        assert!(text.contains("serde = \"1\"\n"));

        let mut inherited: DocumentMut = "[package]\nversion.workspace = true\n".parse().unwrap();
        assert!(bump_member_manifest(&mut inherited, &internal(), "0.2.0").is_empty());
    }

    const CHANGELOG: &str = "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n### Added\n- a thing\n\n## [0.1.0] - 2025-01-01\n\n### Added\n- first\n\n[Unreleased]: https://example.com/r/compare/v0.1.0...HEAD\n[0.1.0]: https://example.com/r/releases/tag/v0.1.0\n";

    #[test]
    fn moves_unreleased_under_the_version() {
        let out = release_changelog(CHANGELOG, "0.2.0", "2026-05-01").unwrap();
        assert_eq!(
            out,
            "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n## [0.2.0] - 2026-05-01\n\n### Added\n- a thing\n\n## [0.1.0] - 2025-01-01\n\n### Added\n- first\n\n[Unreleased]: https://example.com/r/compare/v0.2.0...HEAD\n[0.2.0]: https://example.com/r/compare/v0.1.0...v0.2.0\n[0.1.0]: https://example.com/r/releases/tag/v0.1.0\n"
        );
        // Released again at once: nothing under Unreleased.
        let err = release_changelog(&out, "0.3.0", "2026-05-02").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = release_changelog(CHANGELOG, "0.1.0", "2026-05-02").unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        assert!(release_changelog("# Changelog\n", "0.2.0", "x").is_err());
    }

    #[test]
    fn changelog_with_only_unreleased() {
        let out = release_changelog(
            "# C\n\n## [Unreleased]\n### Added\n- x\n",
            "1.0.0",
            "2026-01-02",
        )
        .unwrap();
        assert_eq!(
            out,
            "# C\n\n## [Unreleased]\n\n## [1.0.0] - 2026-01-02\n\n### Added\n- x\n"
        );
    }

    fn member(name: &str, publishable: bool, deps: &[&str]) -> Member {
        Member {
            name: name.to_owned(),
            manifest_path: PathBuf::from(format!("{name}/Cargo.toml")),
            publishable,
            path_deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            readme: None,
            repository: None,
        }
    }

    #[test]
    fn publish_order_is_topological_and_stable() {
        let members = [
            member("varpack", true, &["npy-format", "npz-stream"]),
            member("npy-format", true, &[]),
            member("npz-stream", true, &["npy-format"]),
            member("filepack", true, &["npy-format"]),
            member("xtask", false, &["npy-format", "varpack"]),
        ];
        assert_eq!(
            publish_order(&members).unwrap(),
            ["npy-format", "npz-stream", "varpack", "filepack"]
        );
        let cycle = [member("a", true, &["b"]), member("b", true, &["a"])];
        assert!(
            publish_order(&cycle)
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
        let private = [member("a", true, &["b"]), member("b", false, &[])];
        assert!(
            publish_order(&private)
                .unwrap_err()
                .to_string()
                .contains("not publishable")
        );
    }

    #[test]
    fn parses_cargo_metadata() {
        let metadata = serde_json::json!({"packages": [
            {"name": "a", "manifest_path": "/w/a/Cargo.toml", "publish": null, "dependencies": [
                {"name": "serde", "kind": null},
            ]},
            {"name": "b", "manifest_path": "/w/b/Cargo.toml", "publish": null, "dependencies": [
                {"name": "a", "kind": null, "path": "/w/a"},
                {"name": "a", "kind": "build", "path": "/w/a"},
                {"name": "c", "kind": "dev", "path": "/w/c"},
            ]},
            {"name": "c", "manifest_path": "/w/c/Cargo.toml", "publish": [], "dependencies": []},
        ]});
        let members = parse_members(&metadata).unwrap();
        assert_eq!(members[1].path_deps, ["a"]);
        assert!(members[0].publishable && !members[2].publishable);
    }
}
