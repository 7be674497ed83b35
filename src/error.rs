//! Error classification: usage errors exit 2, everything else that fails exits 1, and a closed
//! output pipe is not an error at all.

use std::fmt;

/// A mistake in how crm-eval was called (conflicting flags, a bad rules file, a `--map` that names
/// no column). Exits with status 2, like clap's own usage errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for returning a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// `check` found a target missed: exit status 3, apart from bad data (1) and usage (2), so
/// that `crm-eval check … || notify` alerts on a miss.
#[derive(Debug)]
pub struct TargetsMissed(pub String);

impl fmt::Display for TargetsMissed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TargetsMissed {}

/// The process exit status for an error chain.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err
        .chain()
        .any(|e| e.downcast_ref::<TargetsMissed>().is_some())
    {
        3
    } else if err
        .chain()
        .any(|e| e.downcast_ref::<UsageError>().is_some())
    {
        2
    } else {
        1
    }
}

/// True when the error is only the reader of our output going away (`crm-eval rfm x | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.to_string().contains("Broken pipe")
    })
}
