//! Diagnostics on standard error that every layer may emit — input, ledger, metrics and output
//! alike: stage timings for profiling ([`Stopwatch`], `CRM_EVAL_TIMINGS=1`), and the rule that a
//! line printed on stderr goes above the one progress bar, never through it ([`suspend`]). It
//! depends on nothing else in the crate, so calling it never ties a layer to another.

use std::sync::Mutex;

use indicatif::ProgressBar;

/// The progress bar on screen, if any (registered by [`crate::output::progress::Progress`]).
pub(crate) static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `f` with the active bar (if any) hidden, so that a line printed on stderr stays whole.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE.lock().ok().and_then(|a| a.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// Stage timings on stderr for profiling, when the environment has `CRM_EVAL_TIMINGS=1`:
/// `let t = Stopwatch::new(); …; t.lap("loading")`.
pub struct Stopwatch {
    on: bool,
    last: std::cell::Cell<std::time::Instant>,
}

impl Stopwatch {
    pub fn new() -> Stopwatch {
        Stopwatch {
            on: std::env::var_os("CRM_EVAL_TIMINGS").is_some_and(|v| v == "1"),
            last: std::cell::Cell::new(std::time::Instant::now()),
        }
    }

    /// Prints the time since the previous lap (or since `new`), and the peak memory so far.
    pub fn lap(&self, stage: &str) {
        if self.on {
            let now = std::time::Instant::now();
            let took = now - self.last.get();
            self.last.set(now);
            let peak = peak_memory_mib().map_or(String::new(), |m| format!(" (peak {m} MiB)"));
            suspend(|| {
                eprintln!(
                    "crm-eval: timing: {stage}: {:.3} s{peak}",
                    took.as_secs_f64()
                )
            });
        }
    }
}

/// The process's peak resident memory so far (Linux: VmHWM in /proc/self/status).
fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

impl Default for Stopwatch {
    fn default() -> Self {
        Stopwatch::new()
    }
}
