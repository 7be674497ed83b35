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

/// Runs a Python script in the work directory, asserting that it succeeds. The SQL conformance
/// and dataset tests use DuckDB's Python package; [`python_with_duckdb`] brings it on first use,
/// so `cargo test` needs nothing installed by hand beyond Rust and Python 3.
pub fn python(w: &Workdir, script: &str) {
    let python = python_with_duckdb();
    let run = std::process::Command::new(&python.interpreter)
        .arg("-c")
        .arg(script)
        .envs(python.env.iter().cloned())
        .current_dir(w.path("."))
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "the Python script failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// How to run a Python that can `import duckdb`.
pub struct DuckdbPython {
    pub interpreter: String,
    /// Extra environment (PYTHONPATH to the private install, when one is used).
    pub env: Vec<(String, String)>,
}

/// A Python 3 that imports DuckDB: the machine's own when it has the package, else a private
/// copy installed once with `pip install --target` into the build's temporary directory
/// (`target/tmp/python-duckdb`, outside the clone when CARGO_TARGET_DIR is). `--target` installs
/// beside the system packages, so it works on a Python that refuses system-wide installs
/// (PEP 668). Set `CRM_EVAL_TEST_PYTHON` to use another interpreter.
pub fn python_with_duckdb() -> &'static DuckdbPython {
    static PYTHON: std::sync::OnceLock<DuckdbPython> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let interpreter =
            std::env::var("CRM_EVAL_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let imports = |env: &[(String, String)]| {
            std::process::Command::new(&interpreter)
                .args(["-c", "import duckdb"])
                .envs(env.iter().cloned())
                .output()
                .map(|o| o.status.success())
        };
        match imports(&[]) {
            Ok(true) => {
                return DuckdbPython {
                    interpreter,
                    env: Vec::new(),
                }
            }
            Ok(false) => {}
            Err(e) => panic!(
                "the SQL conformance tests run DuckDB through Python, and `{interpreter}` could \
                 not be started ({e}): install Python 3 (e.g. apt-get install python3 python3-pip)"
            ),
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-duckdb");
        let env = vec![("PYTHONPATH".to_string(), dir.display().to_string())];
        if !matches!(imports(&env), Ok(true)) {
            // Install beside, then rename: a concurrent `cargo test` never sees half a package.
            let partial = dir.with_extension(format!("partial-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&partial);
            eprintln!(
                "installing DuckDB's Python package into {} (once)",
                dir.display()
            );
            let pip = std::process::Command::new(&interpreter)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("--target")
                .arg(&partial)
                .arg("duckdb")
                .output()
                .expect("python3 runs");
            assert!(
                pip.status.success(),
                "the SQL conformance tests need DuckDB's Python package, and `{interpreter} -m pip \
                 install --target {} duckdb` failed (no pip? apt-get install python3-pip): {}",
                partial.display(),
                String::from_utf8_lossy(&pip.stderr)
            );
            let _ = std::fs::remove_dir_all(&dir);
            if std::fs::rename(&partial, &dir).is_err() {
                // Another run put its copy in place first; ours is not needed.
                let _ = std::fs::remove_dir_all(&partial);
            }
            assert!(
                matches!(imports(&env), Ok(true)),
                "DuckDB was installed into {} but does not import",
                dir.display()
            );
        }
        DuckdbPython { interpreter, env }
    })
}
