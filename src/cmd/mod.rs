//! One module per subcommand, each shaped "arguments → run".

pub mod abc;
pub mod assign;
pub mod check;
pub mod clv;
pub mod cohort;
pub mod conversion;
pub mod funnel;
pub mod inspect;
pub mod lifecycle;
pub mod nps;
pub mod pool;
pub mod predict;
pub mod rating;
pub mod recovery;
pub mod report;
pub mod retention;
pub mod rfm;
pub mod shell;
pub mod sql;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::settings::Settings;

/// Resolves the shared settings, then runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<()> {
    let settings = Settings::resolve(&cli.global)?;
    let result = dispatch(cli.command, &settings);
    // The labels this run showed in English for want of a translation (--lang), for the table's
    // upkeep: one per line on stderr.
    if std::env::var_os("CRM_EVAL_I18N_MISSES").is_some() {
        for miss in crate::i18n::misses() {
            eprintln!("i18n miss: {miss}");
        }
    }
    // The rows skipped under --on-bad-rows skip, listed even when the run failed later on.
    match (&settings.rejects, result) {
        (Some(path), result) => {
            let written = write_rejects(path);
            result.and(written)
        }
        (None, result) => result,
    }
}

/// `--rejects FILE`: every skipped row as CSV (file, row, column, value, reason), atomically.
fn write_rejects(path: &std::path::Path) -> Result<()> {
    let rejects = crate::input::take_rejects();
    crate::output::write_atomically(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["file", "row", "column", "value", "reason"])?;
        for r in &rejects {
            out.write_record([
                r.file.as_str(),
                &r.row.to_string(),
                &r.column,
                &r.value,
                &r.reason,
            ])?;
        }
        out.flush()?;
        Ok(())
    })
}

fn dispatch(command: Command, settings: &Settings) -> Result<()> {
    match command {
        Command::Rfm(args) => rfm::run(args, settings),
        Command::Inspect(args) => inspect::run(args, settings),
        Command::Abc(args) => abc::run(args, settings),
        Command::Clv(args) => clv::run(args, settings),
        Command::Cohort(args) => cohort::run(args, settings),
        Command::Conversion(args) => conversion::run(args, settings),
        Command::Recovery(args) => recovery::run(args, settings),
        Command::Pool(args) => pool::run(args, settings),
        Command::Assign(args) => assign::run(args, settings),
        Command::Lifecycle(args) => lifecycle::run(args, settings),
        Command::Rating(args) => rating::run(args, settings),
        Command::Nps(args) => nps::run(args, settings),
        Command::Funnel(args) => funnel::run(args, settings),
        Command::Predict(args) => predict::run(args, settings),
        Command::Report(args) => report::run(args, settings),
        Command::Retention(args) => retention::run(args, settings),
        Command::Check(args) => check::run(args, settings),
        Command::Sql(args) => sql::run(args, settings),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
    }
}
