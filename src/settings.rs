//! The flags every subcommand shares ([`GlobalArgs`], as clap reads them) and the validated, typed
//! [`Settings`] they resolve to, with the config file, before any file is read. Every layer below
//! the commands takes `Settings`; none of them needs the command-line types.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::config::Config;
use crate::error::usage;
use crate::input::coerce::ValueOptions;
use crate::input::schema::{MapEntry, TableKind};
use crate::input::source::{EncodingChoice, ReadOptions};
use crate::input::values::ExcelEpoch;
use crate::input::InputOptions;
use crate::output::{Format, OutputOptions};

/// Flags that every subcommand accepts, before or after its name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Text encoding of CSV input: auto tries strict UTF-8, then GBK/GB18030.
    #[arg(
        long,
        global = true,
        value_enum,
        help_heading = "Input",
        hide_short_help = true
    )]
    pub encoding: Option<EncodingChoice>,

    /// Name the column for a role, e.g. --map customer_id=客户编号 or --map orders.amount=实付金额.
    #[arg(
        long = "map",
        global = true,
        value_name = "[TABLE.]ROLE=HEADER",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub map: Vec<String>,

    /// chrono format for date columns, e.g. %d/%m/%Y (needed when day/month order is
    /// ambiguous); TABLE=FORMAT for one table's (history=%m/%d/%y %I:%M %p), repeatable.
    #[arg(
        long,
        global = true,
        value_name = "[TABLE=]FORMAT",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub date_format: Vec<String>,

    /// CSV delimiter (default: sniffed). One character, or "tab".
    #[arg(
        long,
        global = true,
        value_name = "CHAR",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub delimiter: Option<String>,

    /// The CSV has no header row: read its first line as data, with the names of --names.
    #[arg(
        long,
        global = true,
        requires = "names",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub no_header: bool,

    /// Column names of a CSV without a header row, in order (with --no-header), e.g.
    /// mql_id,first_contact_date,landing_page_id,origin.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        value_name = "NAME,...",
        requires = "no_header",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub names: Option<Vec<String>>,

    /// Excel sheet to read (default: the first).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub sheet: Option<String>,

    /// Amounts use a decimal comma: 1.234,56.
    #[arg(long, global = true, help_heading = "Input", hide_short_help = true)]
    pub decimal_comma: bool,

    /// Bare Excel serial numbers count from 1904 (old Mac Excel), not 1900.
    #[arg(
        long = "excel-1904",
        global = true,
        help_heading = "Input",
        hide_short_help = true
    )]
    pub excel_1904: bool,

    /// Count calendar days at this UTC offset (e.g. +08:00, UTC). Default: the data's own.
    #[arg(
        long,
        global = true,
        value_name = "OFFSET",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub tz: Option<String>,

    /// Fail on rows without an ID (guest checkouts) instead of leaving them out with a note.
    #[arg(long, global = true, help_heading = "Input", hide_short_help = true)]
    pub strict: bool,

    /// A row with a cell that cannot be read (a bad date, amount, status, flag) or an empty
    /// required cell: fail the run (default), or skip the row, count it on stderr and list it
    /// in --rejects.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHAT",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub on_bad_rows: Option<crate::input::BadRows>,

    /// Write every skipped row (file, row, column, value, reason) to FILE as CSV (implies
    /// --on-bad-rows skip; written even when no row was skipped).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub rejects: Option<PathBuf>,

    /// With --on-bad-rows skip: fail (exit 1) when one file has more skipped rows than N, or
    /// than P% of its rows (e.g. 100 or 0.5%), instead of answering from what is left.
    #[arg(
        long,
        global = true,
        value_name = "N|P%",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub max_rejects: Option<crate::input::MaxRejects>,

    /// How a line-item discount column is read when the amount is computed from quantity ×
    /// unit price: rate (0.2 = 20 % off), amount (money off), or auto (rate when every value is
    /// between 0 and 1).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "KIND",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub line_discount: Option<crate::input::lines::DiscountKind>,

    /// Config file (default: ./crm-eval.toml when present, said on stderr).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub config: Option<PathBuf>,

    /// Read no config file, not even ./crm-eval.toml.
    #[arg(
        long,
        global = true,
        conflicts_with = "config",
        help_heading = "Input",
        hide_short_help = true
    )]
    pub no_config: bool,

    /// Output format (default: from -o's extension; table on a terminal, csv when piped).
    #[arg(long, short = 'f', global = true, value_enum, help_heading = "Output")]
    pub format: Option<Format>,

    /// The language of what a person reads in a report (HTML page, charts, workbook headers):
    /// en (default) or zh (简体中文). Column names of CSV, JSON and Parquet never change.
    #[arg(long, global = true, value_enum, help_heading = "Output")]
    pub lang: Option<crate::i18n::Lang>,

    /// Write to FILE (atomically) instead of standard output.
    #[arg(
        long,
        short = 'o',
        global = true,
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub output: Option<PathBuf>,

    /// Start CSV/TSV output with a UTF-8 byte-order mark, so Excel shows Chinese text correctly.
    #[arg(long, global = true, help_heading = "Output", hide_short_help = true)]
    pub bom: bool,

    /// On a terminal, print every row of a table (default: a screenful, then a count of the rest).
    #[arg(long, global = true, help_heading = "Output")]
    pub all: bool,

    /// No notes or warnings on standard error.
    #[arg(long, short = 'q', global = true, help_heading = "Output")]
    pub quiet: bool,
}

/// Validated settings shared by all subcommands.
#[derive(Clone)]
pub struct Settings {
    pub input: InputOptions,
    pub output: OutputOptions,
    pub config: Config,
    /// `--rejects FILE`: where the skipped rows are listed at the end of the run.
    pub rejects: Option<PathBuf>,
}

impl Settings {
    /// The same settings without notes on stderr (for a second pass over files whose notes
    /// were said by the first).
    pub fn quiet(&self) -> Settings {
        Settings {
            output: OutputOptions {
                quiet: true,
                ..self.output.clone()
            },
            ..self.clone()
        }
    }

    /// Resolves flags and the config file (flags win) into typed settings. Every mistake here is a
    /// usage error, reported before any file is read.
    pub fn resolve(global: &GlobalArgs) -> Result<Settings> {
        let config = if global.no_config {
            Config::default()
        } else {
            Config::find_and_load(global.config.as_deref(), !global.quiet)?
        };
        crate::i18n::set(global.lang.or(config.lang).unwrap_or_default());
        let cfg = &config.input;

        let encoding = global.encoding.or(cfg.encoding).unwrap_or_default();
        let delimiter = match global.delimiter.as_deref().or(cfg.delimiter.as_deref()) {
            None => None,
            Some(d) => Some(parse_delimiter(d)?),
        };
        let tz_offset_secs = match global.tz.as_deref().or(cfg.tz.as_deref()) {
            None => None,
            Some(tz) => Some(parse_offset(tz)?),
        };
        // `--date-format FORMAT` for every table, `--date-format TABLE=FORMAT` for one.
        let mut date_format = cfg.date_format.clone();
        if let Some(f) = &date_format {
            validate_date_format(f)?;
        }
        let mut table_date_formats = Vec::new();
        for spec in &global.date_format {
            let table = spec
                .split_once('=')
                .and_then(|(t, f)| TableKind::from_name(t.trim()).map(|k| (k, f)));
            match table {
                Some((kind, format)) => {
                    validate_date_format(format)?;
                    table_date_formats.push((kind, format.to_string()));
                }
                None => {
                    validate_date_format(spec)?;
                    date_format = Some(spec.clone());
                }
            }
        }
        let decimal_comma = global.decimal_comma || cfg.decimal_comma.unwrap_or(false);
        let excel_epoch = if global.excel_1904 || cfg.excel_1904.unwrap_or(false) {
            ExcelEpoch::Excel1904
        } else {
            ExcelEpoch::Excel1900
        };

        let mut mappings = config.mappings()?;
        for spec in &global.map {
            mappings.push(MapEntry::parse(spec, "--map")?);
        }

        let input = InputOptions {
            read: ReadOptions {
                encoding,
                delimiter,
                sheet: global.sheet.clone().or_else(|| cfg.sheet.clone()),
                names: global.names.clone(),
            },
            values: ValueOptions {
                date_format,
                table_date_formats,
                excel_epoch,
                decimal_comma,
                tz_offset_secs,
            },
            mappings,
            strict: global.strict || cfg.strict.unwrap_or(false),
            bad_rows: match (global.on_bad_rows, &global.rejects, cfg.on_bad_rows) {
                (Some(b), _, _) => b,
                (None, Some(_), _) => crate::input::BadRows::Skip,
                (None, None, Some(b)) => b,
                (None, None, None) => crate::input::BadRows::Fail,
            },
            max_rejects: global.max_rejects.or(cfg.max_rejects),
            discount: global
                .line_discount
                .or(cfg.line_discount)
                .unwrap_or_default(),
        };
        let output = OutputOptions::resolve(
            global.format,
            global.output.clone(),
            global.bom,
            global.quiet,
            global.all,
        )?;
        if let Some(p) = &output.path {
            crate::paths::will_write(p, "-o")?;
        }
        if let Some(p) = &global.rejects {
            if global.on_bad_rows == Some(crate::input::BadRows::Fail) {
                return Err(usage(
                    "--rejects lists the rows --on-bad-rows skip skips; with --on-bad-rows fail \
                     there are none",
                ));
            }
            crate::paths::will_write(p, "--rejects")?;
        }
        if global.max_rejects.is_some() && input.bad_rows == crate::input::BadRows::Fail {
            return Err(usage(
                "--max-rejects bounds the rows --on-bad-rows skip skips; add --on-bad-rows skip \
                 (or --rejects FILE)",
            ));
        }
        Ok(Settings {
            input,
            output,
            config,
            rejects: global.rejects.clone(),
        })
    }
}

/// A flag's number of days (--window, --active-days, --step): a whole number from 1 to 36,525 (a
/// century), checked here once as clap's value parser, so a bad value is the option's own usage
/// error (exit 2) wherever it is given.
pub fn days(s: &str) -> std::result::Result<i32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (1..=36_525).contains(&n) => Ok(n as i32),
        Ok(_) => Err("expected 1 to 36525 days (a century)".into()),
        Err(_) => Err("expected a whole number of days".into()),
    }
}

fn parse_delimiter(d: &str) -> Result<u8> {
    match d {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        d if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
        _ => Err(usage(format!(
            "--delimiter {d:?}: expected one ASCII character or \"tab\""
        ))),
    }
}

/// Parses a fixed UTC offset: `UTC`, `Z`, `+08:00`, `+0800`, `-5`.
pub fn parse_offset(tz: &str) -> Result<i32> {
    let t = tz.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("gmt") || t == "Z" {
        return Ok(0);
    }
    let bad = || {
        usage(format!(
            "--tz {tz:?}: expected a UTC offset such as +08:00, -05:00 or UTC"
        ))
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 4 {
        return Err(bad());
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().map_err(|_| bad())?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().map_err(|_| bad())?,
            digits[split..].parse::<i32>().map_err(|_| bad())?,
        )
    };
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

fn validate_date_format(format: &str) -> Result<()> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(usage(format!(
            "--date-format {format:?} is not a valid chrono/strftime format (e.g. %d/%m/%Y)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every day-count flag takes 1 to a century of days, checked by one parser.
    #[test]
    fn day_counts_are_checked_once() {
        assert_eq!(days("90"), Ok(90));
        assert_eq!(days(" 1 "), Ok(1));
        assert_eq!(days("36525"), Ok(36_525));
        for bad in ["0", "-5", "36526", "ninety", "1.5"] {
            assert!(days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("UTC").unwrap(), 0);
        assert_eq!(parse_offset("+08:00").unwrap(), 8 * 3600);
        assert_eq!(parse_offset("-0530").unwrap(), -(5 * 3600 + 30 * 60));
        assert_eq!(parse_offset("+8").unwrap(), 8 * 3600);
        assert!(parse_offset("Asia/Shanghai").is_err());
        assert!(parse_offset("+25:00").is_err());
    }
}
