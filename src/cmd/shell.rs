//! `crm-eval completions SHELL` and `crm-eval man [COMMAND]`: shell completion scripts and the
//! man page, generated from the clap definition (so they always match the flags).

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::usage;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// A subcommand's own page (default: the page of crm-eval, listing every command).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "crm-eval", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> Result<()> {
    let command = Cli::command();
    let page = match &args.command {
        None => command,
        Some(name) => {
            let sub = command
                .get_subcommands()
                .find(|c| c.get_name() == name)
                .cloned()
                .ok_or_else(|| {
                    usage(format!(
                        "man {name:?}: no such command; commands are {}",
                        Cli::command()
                            .get_subcommands()
                            .map(|c| c.get_name().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            sub.bin_name(format!("crm-eval {name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("rendering the man page")?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}
