//! A progress bar on stderr for long work (loading big files, fitting models). It shows only when
//! stderr is a terminal and never with `--quiet`; in a pipe, in cron or in tests it draws nothing.
//! While it is shown, [`super::note`] prints above it instead of through it.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A bar over `steps` named steps; hidden unless stderr is a terminal and not `quiet`.
/// Dropping it clears the line.
/// Inside another bar's work (e.g. a file loaded for `report`) a new bar stays hidden, so there is
/// only ever one line of progress.
pub struct Progress {
    bar: ProgressBar,
    nested: bool,
}

impl Progress {
    pub fn new(steps: u64, quiet: bool) -> Progress {
        let nested = ACTIVE.lock().map(|a| a.is_some()).unwrap_or(false);
        let target = if quiet || nested {
            ProgressDrawTarget::hidden()
        } else {
            // indicatif's stderr target draws nothing when stderr is not a terminal.
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(steps), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        if nested {
            return Progress { bar, nested };
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(bar.clone());
        }
        Progress { bar, nested }
    }

    /// Starts the next step: the bar advances past the previous one and shows `message`.
    pub fn step(&self, message: impl Into<String>) {
        if self.bar.message().is_empty() && self.bar.position() == 0 {
            self.bar.set_message(message.into());
        } else {
            self.bar.inc(1);
            self.bar.set_message(message.into());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if !self.nested {
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_advance_and_the_bar_unregisters_when_dropped() {
        {
            let p = Progress::new(3, true);
            p.step("one");
            p.step("two");
            assert_eq!(p.bar.position(), 1);
            assert_eq!(p.bar.message(), "two");
            assert!(ACTIVE.lock().unwrap().is_some());
            assert_eq!(suspend(|| 7), 7);
            // A bar started inside stays hidden and leaves the outer one registered.
            {
                let inner = Progress::new(1, false);
                assert!(inner.nested && inner.bar.is_hidden());
            }
            assert!(ACTIVE.lock().unwrap().is_some());
        }
        assert!(ACTIVE.lock().unwrap().is_none());
    }
}
