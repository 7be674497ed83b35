//! The output layer every subcommand shares: one place that decides the format (flag, file
//! extension, or terminal vs pipe), renders a DataFrame in it, and writes files atomically.

mod cells;
pub mod charts;
pub mod html;
pub mod progress;
mod render;
mod workbook;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::error::usage;
pub use cells::{column_cells, Cell};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned table for reading in a terminal.
    Table,
    Csv,
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
    /// Arrow IPC file (Feather v2): typed columns for pandas and polars.
    #[value(alias = "feather", alias = "ipc")]
    Arrow,
    Xlsx,
    /// GitHub-flavoured Markdown table.
    #[value(alias = "md")]
    Markdown,
    /// A self-contained HTML page (inline CSS, no scripts or network).
    Html,
}

impl Format {
    /// The format implied by a file name, if its extension names one.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "json" => Format::Json,
            "ndjson" | "jsonl" => Format::Ndjson,
            "parquet" | "pq" => Format::Parquet,
            "arrow" | "feather" | "ipc" => Format::Arrow,
            "xlsx" => Format::Xlsx,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" => Format::Html,
            "txt" => Format::Table,
            _ => return None,
        })
    }

    fn is_binary(self) -> bool {
        matches!(self, Format::Parquet | Format::Arrow | Format::Xlsx)
    }

    /// Whether a stream of this format holds one table: CSV, TSV, NDJSON and Parquet readers
    /// (pandas, polars, DuckDB) take the first header for the whole stream and turn a second
    /// table into data rows, silently.
    pub fn holds_one_table(self) -> bool {
        matches!(
            self,
            Format::Csv | Format::Tsv | Format::Ndjson | Format::Parquet | Format::Arrow
        )
    }

    fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "CSV",
            Format::Tsv => "TSV",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
            Format::Parquet => "Parquet",
            Format::Arrow => "Arrow",
            Format::Xlsx => "xlsx",
            Format::Markdown => "Markdown",
            Format::Html => "HTML",
        }
    }
}

/// Where and how to write, resolved from the flags before any work starts.
#[derive(Clone, Debug)]
pub struct OutputOptions {
    pub format: Format,
    pub path: Option<PathBuf>,
    /// Prefix CSV/TSV with a UTF-8 byte-order mark so Excel opens Chinese text correctly.
    pub bom: bool,
    pub quiet: bool,
    /// The terminal a table is printed on, when it is one: the table then fits its width and
    /// shows a screenful of rows (unless `all`).
    pub screen: Option<Screen>,
    /// `--all`: every row on a terminal too.
    pub all: bool,
}

/// A terminal's size in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    pub width: usize,
    pub height: usize,
}

impl Screen {
    /// The size of the terminal standard output is, if it is one: `COLUMNS`/`LINES` when set
    /// (as shells export them), else the terminal's own (TIOCGWINSZ), else 100 × 40.
    fn of_stdout() -> Option<Screen> {
        if !io::stdout().is_terminal() {
            return None;
        }
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|v| *v > 0)
        };
        let (mut width, mut height) = (env("COLUMNS"), env("LINES"));
        #[cfg(unix)]
        if width.is_none() || height.is_none() {
            // SAFETY: an all-zero winsize is a valid value; TIOCGWINSZ on a terminal fd fills it
            // and on failure leaves it untouched.
            let mut size: libc::winsize = unsafe { std::mem::zeroed() };
            if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0 {
                width = width.or((size.ws_col > 0).then_some(usize::from(size.ws_col)));
                height = height.or((size.ws_row > 0).then_some(usize::from(size.ws_row)));
            }
        }
        Some(Screen {
            width: width.unwrap_or(100),
            height: height.unwrap_or(40),
        })
    }
}

impl OutputOptions {
    /// Decides the format: `--format`, else the extension of `-o`, else a table on a terminal and
    /// CSV in a pipe. A binary format to a terminal is refused rather than garbling the screen.
    pub fn resolve(
        format: Option<Format>,
        path: Option<PathBuf>,
        bom: bool,
        quiet: bool,
        all: bool,
    ) -> Result<OutputOptions> {
        let path = path.filter(|p| p.as_os_str() != "-");
        if let Some(p) = &path {
            if p.is_dir() {
                return Err(usage(format!("-o {}: is a directory", p.display())));
            }
        }
        let format = match (format, &path) {
            (Some(f), _) => f,
            (None, Some(p)) => Format::from_path(p).ok_or_else(|| {
                usage(format!(
                    "cannot tell the output format from {:?}; use a .csv, .tsv, .json, .ndjson, \
                     .parquet, .arrow, .xlsx, .md or .html name, or pass --format",
                    p.display()
                ))
            })?,
            (None, None) if io::stdout().is_terminal() => Format::Table,
            (None, None) => Format::Csv,
        };
        if path.is_none() && format.is_binary() && io::stdout().is_terminal() {
            return Err(usage(
                format!("{format:?} output is binary; write it to a file with -o FILE or pipe it")
                    .to_lowercase(),
            ));
        }
        let screen = if path.is_none() && format == Format::Table {
            Screen::of_stdout()
        } else {
            None
        };
        Ok(OutputOptions {
            format,
            path,
            bom,
            quiet,
            screen,
            all,
        })
    }
}

/// Writes one table in the chosen format, to the file (atomically) or to stdout.
pub fn emit(df: &DataFrame, opts: &OutputOptions) -> Result<()> {
    emit_sheets(&[("result", df)], Some("result"), opts)
}

/// Writes several named tables: xlsx gives each a sheet, JSON a key, table, Markdown and HTML a
/// title. A format that holds one table (CSV, TSV, NDJSON, Parquet) gets one: `main`, the
/// command's main table, when the tables are the command's default, with a note naming the
/// others; `main` None means the user named them (`--show a,b`), and two are a usage error that
/// says how to get them.
pub fn emit_sheets(
    sheets: &[(&str, &DataFrame)],
    main: Option<&str>,
    opts: &OutputOptions,
) -> Result<()> {
    let one: Vec<(&str, &DataFrame)>;
    let sheets = if opts.format.holds_one_table() && sheets.len() > 1 {
        let names: Vec<&str> = sheets.iter().map(|(n, _)| *n).collect();
        let Some(main) = main else {
            return Err(usage(format!(
                "--show {}: a {} stream holds one table; show one of them, or write them all to \
                 one file with -o FILE.xlsx, FILE.json or FILE.html",
                names.join(","),
                opts.format.name()
            )));
        };
        one = sheets.iter().filter(|(n, _)| *n == main).copied().collect();
        let others: Vec<&str> = names.into_iter().filter(|n| *n != main).collect();
        note(
            opts,
            format!(
                "{} holds one table: {main} (also made: {}; --show NAME for one of them, -o \
                 FILE.xlsx for all)",
                opts.format.name(),
                others.join(", ")
            ),
        );
        &one[..]
    } else {
        sheets
    };
    let watch = crate::diag::Stopwatch::new();
    let written = match &opts.path {
        Some(path) => {
            crate::paths::check_output(path, "-o")?;
            write_atomically(path, |w| render::render(sheets, opts, w))
        }
        None => {
            let stdout = io::stdout();
            let mut lock = io::BufWriter::new(stdout.lock());
            render::render(sheets, opts, &mut lock)?;
            lock.flush().context("cannot write to standard output")
        }
    };
    watch.lap("writing");
    written
}

/// Writes through a temporary file in the destination's directory and renames it into place, so a
/// failure at any point leaves either the old file or nothing, never half a file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".crm-eval-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| {
            format!(
                "{}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })?;
    let _removed_on_interrupt = crate::paths::temporary(tmp.path());
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered).with_context(|| format!("{}: writing failed", path.display()))?;
        buffered
            .flush()
            .with_context(|| format!("{}: writing failed", path.display()))?;
    }
    // A temporary file is created private (0600); give the result the permissions of the file it
    // replaces, or the usual 0644 for a new one, so that others can read it as they could before.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("{}: cannot set permissions", path.display()))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{}: writing failed", path.display()))?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| {
        format!(
            "{}: cannot move the finished file into place",
            path.display()
        )
    })?;
    Ok(())
}

/// The notes of a run being recorded for the report's notes sheet (`None`: not recording).
static RECORDED: std::sync::Mutex<Option<Vec<String>>> = std::sync::Mutex::new(None);

/// Starts recording every note of the run, printed or not (`report` writes them to its notes
/// sheet: the rows left out and why, what loading decided).
pub fn record_notes() {
    if let Ok(mut r) = RECORDED.lock() {
        *r = Some(Vec::new());
    }
}

/// The notes recorded since [`record_notes`], each once, in order; recording stops.
pub fn recorded_notes() -> Vec<String> {
    let mut notes = RECORDED
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    notes
}

/// Prints a note on stderr unless `--quiet` (above the progress bar, when one is showing).
pub fn note(opts: &OutputOptions, message: impl AsRef<str>) {
    if let Ok(mut r) = RECORDED.lock() {
        if let Some(notes) = r.as_mut() {
            notes.push(message.as_ref().to_string());
        }
    }
    if !opts.quiet {
        crate::diag::suspend(|| eprintln!("crm-eval: {}", message.as_ref()));
    }
}

/// Column names that hold fractions (0–1): shares, rates and probabilities, shown as
/// percentages on a terminal, in Excel and in HTML (never in CSV, JSON or Parquet).
pub(crate) fn is_share(name: &str) -> bool {
    name.ends_with("_share")
        || name.ends_with("_rate")
        || name.starts_with("share_")
        || name.ends_with("_pct")
        || name.ends_with("probability")
        || is_probability(name)
}

/// `p_alive`, `p_convert`, `p_renew_next` and their bounds and runner-up (`p_alive_low`,
/// `runner_up_p_convert`): probabilities by the `p_` of their name.
fn is_probability(name: &str) -> bool {
    let stem = name.strip_prefix("runner_up_").unwrap_or(name);
    let stem = stem
        .strip_suffix("_low")
        .or_else(|| stem.strip_suffix("_high"))
        .unwrap_or(stem);
    matches!(stem, "p_alive" | "p_convert" | "p_renew_next")
}

/// Per column of `df`: does it hold fractions? The `*_share`/`*_rate` columns, and the interval
/// bounds `ci_low`/`ci_high` of a table that reports a rate.
pub(crate) fn share_columns(df: &DataFrame) -> Vec<bool> {
    let names = df.get_column_names();
    let has_rate = names.iter().any(|n| n.ends_with("_rate"));
    names
        .iter()
        .map(|n| is_share(n) || (has_rate && matches!(n.as_str(), "ci_low" | "ci_high")))
        .collect()
}
