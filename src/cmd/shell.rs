//! `crm-eval completions SHELL` and `crm-eval man [COMMAND]`: shell completion scripts and the
//! man page, generated from the clap definition (so they always match the flags).

use std::io::Write;

use anyhow::{Context, Result};

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
    let mut command = crate::cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "crm-eval", &mut out);
    if args.shell == clap_complete::Shell::Bash {
        out = fix_bash_names(&out);
    }
    write_stdout(&out)
}

/// clap_complete's bash script for a hyphenated name tracks the command as `crm__eval__subcmd__…`
/// but names its case arms `crm__subcmd__eval__subcmd__…` (clap-rs/clap#6421), so nothing after a
/// subcommand completes; the arms are renamed to what the tracker writes.
fn fix_bash_names(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("crm__subcmd__eval", "crm__eval")
        .into_bytes()
}

pub fn man(args: ManArgs) -> Result<()> {
    let command = crate::cli::command();
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
                        crate::cli::command()
                            .get_subcommands()
                            .map(|c| c.get_name().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            sub.bin_name(format!("crm-eval {name}"))
        }
    };
    let title = match &args.command {
        Some(name) => format!("crm-eval-{name}"),
        None => "crm-eval".to_string(),
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .title(title)
        .render(&mut out)
        .context("rendering the man page")?;
    out.extend_from_slice(extra_sections(args.command.as_deref()).as_bytes());
    write_stdout(&out)
}

/// EXAMPLES (a command's own, from its --help), ENVIRONMENT and FILES, in roff.
fn extra_sections(command: Option<&str>) -> String {
    let examples = crate::cli::examples(command.unwrap_or(""));
    let mut roff = String::new();
    if !examples.is_empty() {
        roff.push_str(".SH EXAMPLES\n");
        for line in examples.lines().filter(|l| !l.trim().is_empty()) {
            let line = line.trim();
            if let Some(command) = line.strip_prefix("$ ") {
                roff.push_str(&format!(".TP\n.B {}\n", escape(command)));
            } else {
                roff.push_str(&format!("{}\n", escape(line)));
            }
        }
    }
    roff.push_str(
        ".SH ENVIRONMENT\n\
         .TP\n.B CRM_EVAL_TIMINGS=1\nStage timings and peak memory on standard error, for profiling.\n\
         .TP\n.B CRM_EVAL_MEMORY_AVAILABLE\nThe memory, in bytes, that the automatic memory limit \
         assumes (default: what the system reports).\n\
         .TP\n.B NO_COLOR\nNo colour in terminal output.\n\
         .SH FILES\n\
         .TP\n.B ./crm-eval.toml\nThe config file read when --config is not given (a note on \
         standard error says so; --no-config ignores it): column mappings, input options, RFM \
         scores and segments, funnel stages.\n",
    );
    roff
}

/// Escapes roff's special characters in text.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}
