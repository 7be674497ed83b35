//! A progress bar on stderr for long work (loading big files, fitting models). It shows only when
//! stderr is a terminal and never with `--quiet`; in a pipe, in cron or in tests it draws nothing.
//! While it is shown, [`super::note`] and the stage timings print above it instead of through it
//! ([`crate::diag::suspend`]).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::diag::ACTIVE;

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
            assert_eq!(crate::diag::suspend(|| 7), 7);
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
