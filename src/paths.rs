//! The files a run reads and the files it writes, so that no output ever replaces an input
//! (`crm-eval rfm o.csv -o o.csv` would otherwise lose the only copy of the export). Outputs are
//! registered when the flags are resolved, inputs as the input layer opens them; each side checks
//! the other, so the mistake is a usage error before any work where possible, and at the latest
//! before the output is moved into place.
//!
//! It also keeps the temporary files and folders a run makes (the output before its rename, the
//! partitions of `--memory-limit`), so that an interrupted run removes them: SIGINT and SIGTERM
//! are heard by a thread ([`remove_temporaries_on_interrupt`]), which removes them and exits
//! with 130 or 143.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Result;

use crate::error::usage;

static INPUTS: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
static OUTPUTS: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
/// Files read and rewritten by design (`check --kpi-history`): neither an input nor an output.
static REWRITES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A path as the file system resolves it (links followed); for a file not yet there, its folder
/// resolved and its name.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.canonicalize().ok()?,
        _ => std::env::current_dir().ok()?,
    };
    Some(parent.join(name))
}

/// Registers a file the run will write (`flag` names it in messages: "-o", "--kpi-history");
/// an input already read under the same path is a usage error.
pub fn will_write(path: &Path, flag: &str) -> Result<()> {
    let Some(p) = resolved(path) else {
        return Ok(());
    };
    if let Some((_, input)) = lock(&INPUTS).iter().find(|(q, _)| *q == p) {
        return Err(clash(flag, path, input));
    }
    lock(&OUTPUTS).push((p, format!("{flag} {}", path.display())));
    Ok(())
}

/// Registers a file the run reads and then rewrites by design (`flag`: "--kpi-history"); the
/// `-o` output of the same path is a usage error.
pub fn will_rewrite(path: &Path, flag: &str) -> Result<()> {
    let Some(p) = resolved(path) else {
        return Ok(());
    };
    if let Some((_, output)) = lock(&OUTPUTS).iter().find(|(q, _)| *q == p) {
        return Err(usage(format!(
            "{flag} {} and {output} are the same file: the history would be replaced by this \
             run's table — write the table elsewhere",
            path.display()
        )));
    }
    lock(&REWRITES).push(p);
    Ok(())
}

/// Registers an input file as it is opened; a registered output of the same path is a usage
/// error (before the file is read).
pub fn will_read(path: &Path) -> Result<()> {
    let Some(p) = resolved(path) else {
        return Ok(());
    };
    if lock(&REWRITES).contains(&p) {
        return Ok(());
    }
    if let Some((_, output)) = lock(&OUTPUTS).iter().find(|(q, _)| *q == p) {
        let (flag, _) = output.split_once(' ').unwrap_or((output.as_str(), ""));
        return Err(clash(flag, path, &path.display().to_string()));
    }
    lock(&INPUTS).push((p, path.display().to_string()));
    Ok(())
}

/// Checked again just before a file is moved into place: it must not be an input of this run.
pub fn check_output(path: &Path, flag: &str) -> Result<()> {
    let Some(p) = resolved(path) else {
        return Ok(());
    };
    match lock(&INPUTS).iter().find(|(q, _)| *q == p) {
        Some((_, input)) => Err(clash(flag, path, input)),
        None => Ok(()),
    }
}

fn clash(flag: &str, output: &Path, input: &str) -> anyhow::Error {
    usage(format!(
        "{flag} {}: that is the input {input}; writing there would replace the only copy of it \
         — write the result to another file",
        output.display()
    ))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The signal that interrupted the run (0: none).
static INTERRUPTED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// When the run was interrupted, the work's own outcome (often an error: its files vanished)
/// means nothing: wait here for the cleanup, which ends the process with 128 + the signal.
pub fn defer_to_interrupt() {
    if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) != 0 {
        loop {
            std::thread::park();
        }
    }
}

/// A temporary file or folder of this run, removed on an interrupt while the guard lives.
pub struct Temporary(PathBuf);

/// Registers a temporary file or folder; dropping the guard forgets it (its owner removes or
/// renames it).
pub fn temporary(path: &Path) -> Temporary {
    lock(&TEMPORARIES).push(path.to_path_buf());
    Temporary(path.to_path_buf())
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut all = lock(&TEMPORARIES);
        if let Some(i) = all.iter().position(|p| *p == self.0) {
            all.swap_remove(i);
        }
    }
}

/// Removes every registered temporary file and folder. The run's other threads go on until
/// the process exits, so a folder may gain a file while it is removed, or a temporary be
/// registered just after a sweep: the sweep is repeated until two in a row find nothing left.
fn remove_temporaries() {
    let mut clean_sweeps = 0;
    for _ in 0..50 {
        let paths: Vec<PathBuf> = lock(&TEMPORARIES).clone();
        let mut left = false;
        for p in &paths {
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
            left |= removed.is_err() && p.exists();
        }
        clean_sweeps = if left { 0 } else { clean_sweeps + 1 };
        if clean_sweeps >= 2 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// From now on, SIGINT or SIGTERM removes the temporaries and exits 130 or 143 (128 + signal),
/// and a file-size limit (SIGXFSZ) makes a write fail with an error naming the file instead of
/// killing the process.
pub fn remove_temporaries_on_interrupt() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        // SAFETY: ignoring SIGXFSZ installs no handler; writes past the limit then fail with
        // EFBIG, which the writer reports with the file's name.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        }
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    INTERRUPTED.store(signal, std::sync::atomic::Ordering::SeqCst);
                    remove_temporaries();
                    std::process::exit(128 + signal);
                }
            });
        }
    }
}
