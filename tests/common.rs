//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A per-test working directory with the binary ready to run in it.
pub struct Workdir {
    pub dir: TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write fixture");
        p
    }

    /// `crm-eval ARGS` run inside the work directory, with a config file search that finds nothing
    /// unless the test wrote one.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("crm-eval").expect("binary");
        c.current_dir(self.dir.path())
            .args(args)
            .env_remove("NO_COLOR");
        c
    }

    /// Runs and returns stdout, asserting success.
    pub fn stdout(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run");
        assert!(
            out.status.success(),
            "crm-eval {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs expecting failure with `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.cmd(args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(code),
            "crm-eval {args:?}: expected exit {code}; stderr: {stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing on stdout for a failure");
        assert!(!stderr.contains("panicked"), "no panic: {stderr}");
        stderr
    }
}

/// Parses CSV text into header + rows of strings.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r =
        csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = r
        .headers()
        .expect("headers")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

/// Rows as maps from column name to value, for readable assertions.
pub fn records(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let (headers, rows) = parse_csv(text);
    rows.into_iter()
        .map(|r| headers.iter().cloned().zip(r).collect())
        .collect()
}

pub fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-data")
        .join(name)
        .display()
        .to_string()
}

/// A file of tests/data.
pub fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

/// Runs a Python script in the work directory, asserting that it succeeds (the SQL and dataset
/// tests use DuckDB's Python package: python3 -m pip install duckdb; .ci/run installs it).
pub fn python(w: &Workdir, script: &str) {
    let run = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(w.path("."))
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "DuckDB failed (the conformance tests need its Python package: python3 -m pip install duckdb; .ci/run installs it): {}",
        String::from_utf8_lossy(&run.stderr)
    );
}
