//! The `Display` table, like AlignedBinaryFormat's.

use crate::{Info, Kind, Varpack};
use array_files_fs::text::escape_control;

fn human(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

fn dtype_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn shape_text(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(crate) fn row(info: &Info) -> [String; 6] {
    let (dtype, shape) = match info.kind {
        Kind::Array => (
            info.descr.as_ref().map_or("-".into(), dtype_text),
            info.shape.as_deref().map_or("-".into(), shape_text),
        ),
        Kind::Dict => (
            "-".into(),
            format!("{} keys", info.keys.as_ref().map_or(0, Vec::len)),
        ),
        _ => ("-".into(), "-".into()),
    };
    let mut status = info.status.to_string();
    if info.ignored {
        status.push_str(" (ignored)");
    }
    [
        escape_control(&info.name).into_owned(),
        info.kind.to_string(),
        dtype,
        shape,
        human(info.bytes),
        status,
    ]
}

/// The table of values: name, kind, dtype, shape, bytes, status, in a box (names with control
/// characters escaped); then, for a plain numpy `.npz`, one line per member left out
/// ([`Varpack::skipped_members`]).
///
/// ```
/// let mut vp = varpack::Varpack::new();
/// vp.insert_array("x", &[1.0f64; 6], &[2, 3]).unwrap();
/// let table = vp.to_string();
/// assert!(table.contains("│ x    │ array │ <f8   │ (2, 3) │ 48 B  │ loaded │"), "{table}");
/// ```
impl std::fmt::Display for Varpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const HEAD: [&str; 6] = ["name", "kind", "dtype", "shape", "bytes", "status"];
        let rows: Vec<[String; 6]> = self.infos().iter().map(row).collect();
        let mut widths = HEAD.map(|h| h.chars().count());
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |l: &str, m: &str, r: &str| {
            let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            format!("{l}{}{r}\n", parts.join(m))
        };
        let cells = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!(" {c}{} ", " ".repeat(w - c.chars().count())))
                .collect();
            format!("│{}│\n", parts.join("│"))
        };
        let path = match (self.path(), self.url()) {
            (Some(p), _) => escape_control(&p.display().to_string()).into_owned(),
            (None, Some(url)) => escape_control(url).into_owned(),
            (None, None) => "(not saved)".to_owned(),
        };
        writeln!(f, "Varpack {path}: {} values", self.len())?;
        f.write_str(&line("┌", "┬", "┐"))?;
        f.write_str(&cells(&HEAD.map(String::from)))?;
        f.write_str(&line("├", "┼", "┤"))?;
        for r in &rows {
            f.write_str(&cells(r))?;
        }
        f.write_str(&line("└", "┴", "┘"))?;
        for skipped in self.skipped_members() {
            writeln!(
                f,
                "left out: member {}: {}",
                escape_control(&skipped.member),
                escape_control(&skipped.reason)
            )?;
        }
        Ok(())
    }
}
