use std::process::ExitCode;

use crm_eval::error::{exit_code, is_broken_pipe};

fn main() -> ExitCode {
    // Help and --version exit 0, usage mistakes exit 2.
    let cli = crm_eval::cli::parse();
    // An interrupted run leaves no temporary file or folder behind.
    crm_eval::paths::remove_temporaries_on_interrupt();
    // A panic is a bug, but the user still gets one line and exit status 1, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("crm-eval: internal error (this is a bug, please report it): {info}");
    }));
    let outcome = std::panic::catch_unwind(|| crm_eval::cmd::run(cli));
    // Interrupted: the cleanup thread removes the temporaries and exits 130/143.
    crm_eval::paths::defer_to_interrupt();
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            // An empty message is an outcome already reported (check --quiet: exit 3 alone).
            if !e.to_string().is_empty() {
                eprintln!("crm-eval: {e:#}");
            }
            ExitCode::from(exit_code(&e) as u8)
        }
        Err(_) => ExitCode::from(1),
    }
}
