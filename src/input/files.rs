//! Which files a path names: one file, a glob (`orders/*.csv`, `lake/**/*.parquet`) or a
//! directory read recursively, as a hive-partitioned dataset is (`orders/year=2024/month=01/
//! part-0.parquet`). The files are read as one table (docs/metrics.md, "Several files").
//!
//! Rules, so that a run is the same on every machine:
//! - the files are taken in byte order of their paths;
//! - names starting with `.` or `_` are skipped in directories (Spark's `_SUCCESS`, `.crc`
//!   checksums, hidden files); a glob takes what it matches, except such names too;
//! - a `key=value` directory below the directory or the glob's fixed prefix is a partition
//!   column: `key` becomes a column of every row of the files under it (unless a file has a
//!   column of that name), its value percent-decoded, `__HIVE_DEFAULT_PARTITION__` an empty cell.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::error::UsageError;

/// One file of a dataset, with the partition columns its directories name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// The path to open, as the user would write it.
    pub path: String,
    /// `key=value` directories between the dataset's root and the file, outermost first.
    pub partitions: Vec<(String, Option<String>)>,
}

/// True when `path` names more than one file or a directory: a glob pattern or a directory.
pub fn is_dataset(path: &str) -> bool {
    let p = Path::new(path);
    // A file that exists is itself, even when its name holds glob characters
    // (`orders[2024].csv`); a directory or a pattern that names no file is a dataset.
    path != "-" && (p.is_dir() || (has_glob(path) && !p.exists()))
}

fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The files `path` names, in byte order of their paths. A plain file (or `-`) is itself.
pub fn expand(path: &str) -> Result<Vec<DataFile>> {
    if !is_dataset(path) {
        return Ok(vec![DataFile {
            path: path.to_string(),
            partitions: Vec::new(),
        }]);
    }
    let (root, mut found) = if has_glob(path) {
        let root = fixed_prefix(path);
        let matches = glob::glob(path).map_err(|e| {
            anyhow!(UsageError(format!(
                "{path}: not a valid glob pattern ({e})"
            )))
        })?;
        let mut files = Vec::new();
        for entry in matches {
            let p = entry.map_err(|e| anyhow!("{path}: cannot read {}", e.path().display()))?;
            if p.is_file() && !skipped(&p) {
                files.push(p);
            }
        }
        (root, files)
    } else {
        let root = PathBuf::from(path);
        let mut files = Vec::new();
        walk(&root, &mut files)?;
        (root, files)
    };
    found.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    if found.is_empty() {
        return Err(anyhow!(UsageError(format!(
            "{path}: matches no file (expected CSV, Parquet or Excel files)"
        ))));
    }
    Ok(found
        .into_iter()
        .map(|p| DataFile {
            partitions: partitions(&root, &p),
            path: p.to_string_lossy().into_owned(),
        })
        .collect())
}

/// The directories of a glob pattern before its first wildcard.
fn fixed_prefix(pattern: &str) -> PathBuf {
    let mut root = PathBuf::new();
    for part in Path::new(pattern).components() {
        if has_glob(&part.as_os_str().to_string_lossy()) {
            break;
        }
        root.push(part);
    }
    root
}

fn skipped(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow!("{}: cannot list ({e})", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| anyhow!("{}: cannot list ({e})", dir.display()))?;
        let p = entry.path();
        if skipped(&p) {
            continue;
        }
        if p.is_dir() {
            walk(&p, files)?;
        } else if p.is_file() {
            files.push(p);
        }
    }
    Ok(())
}

/// The `key=value` directories of `file` below `root`.
fn partitions(root: &Path, file: &Path) -> Vec<(String, Option<String>)> {
    let Ok(below) = file.strip_prefix(root) else {
        return Vec::new();
    };
    let Some(dirs) = below.parent() else {
        return Vec::new();
    };
    dirs.components()
        .filter_map(|c| {
            let c = c.as_os_str().to_str()?;
            let (key, value) = c.split_once('=')?;
            if key.is_empty() {
                return None;
            }
            let value = percent_decode(value);
            let value =
                (value != "__HIVE_DEFAULT_PARTITION__" && !value.is_empty()).then_some(value);
            Some((percent_decode(key), value))
        })
        .collect()
}

/// `%2F` → `/` as Spark and Hive escape partition values; anything else is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_directories_become_columns() {
        let root = Path::new("lake/orders");
        let file = Path::new("lake/orders/year=2024/region=North%20East/part-0.parquet");
        assert_eq!(
            partitions(root, file),
            vec![
                ("year".to_string(), Some("2024".to_string())),
                ("region".to_string(), Some("North East".to_string())),
            ]
        );
        let file = Path::new("lake/orders/region=__HIVE_DEFAULT_PARTITION__/a.csv");
        assert_eq!(partitions(root, file), vec![("region".to_string(), None)]);
        assert_eq!(
            fixed_prefix("lake/orders/**/*.parquet"),
            PathBuf::from("lake/orders")
        );
        assert_eq!(percent_decode("50%"), "50%");
    }
}
