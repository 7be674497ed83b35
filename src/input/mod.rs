//! The input layer every subcommand shares: open a file of any supported container and encoding,
//! resolve its columns to roles, coerce values to canonical types, and fail with an error that names
//! the file, the row, the column and what was expected.

pub mod coerce;
pub mod schema;
pub mod source;
pub mod values;

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;

use crate::error::UsageError;
use coerce::{BadCell, Coerced, ValueOptions};
use schema::{Binding, MapEntry, ResolveError, Role, TableKind, ValueKind};
use source::{ReadOptions, SourceInfo};

/// Everything that changes how inputs are read, resolved once from flags and the config file.
#[derive(Clone, Debug, Default)]
pub struct InputOptions {
    pub read: ReadOptions,
    pub values: ValueOptions,
    pub mappings: Vec<MapEntry>,
}

/// A loaded table: canonical columns named by [`Role::name`], in canonical types.
pub struct Table {
    pub kind: TableKind,
    pub df: DataFrame,
    pub info: SourceInfo,
    pub bindings: Vec<Binding>,
}

impl Table {
    pub fn has(&self, role: Role) -> bool {
        self.bindings.iter().any(|b| b.role == role)
    }
}

/// Loads `path` as a table of `kind`, with its required roles and those optional roles of
/// `optional` that the file has (None: every optional role). Columns nobody asked for are
/// neither read nor checked.
pub fn load(
    path: &str,
    kind: TableKind,
    optional: Option<&[Role]>,
    opts: &InputOptions,
) -> Result<Table> {
    let raw = source::open(path, &opts.read)?;
    let mut bindings = resolve_or_explain(kind, &raw.headers, opts, &raw.info.display)?;
    if let Some(wanted) = optional {
        bindings.retain(|b| kind.required().contains(&b.role) || wanted.contains(&b.role));
    }
    let wanted: Vec<String> = bindings.iter().map(|b| b.header.clone()).collect();
    let typed = fast_types(&raw, &bindings, &opts.values);
    let watch = crate::output::progress::Stopwatch::new();
    let (frame, info) = raw.read(Some(&wanted), &typed, &opts.read)?;
    watch.lap("  load: read");
    // Columns are coerced in parallel (the value parsers are plain Rust loops); errors are then
    // reported in column order, so the message does not depend on thread timing.
    let coerced_all: Vec<Result<Coerced>> = std::thread::scope(|scope| {
        let handles: Vec<_> = bindings
            .iter()
            .map(|binding| {
                let (frame, info) = (&frame, &info);
                scope.spawn(move || coerce_binding(frame, binding, &opts.values, info))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut columns = Vec::with_capacity(bindings.len());
    for (binding, coerced) in bindings.iter().zip(coerced_all) {
        let coerced = coerced?;
        check_coerced(&coerced, binding, &info)?;
        let column = coerced.column;
        if kind.required().contains(&binding.role) && column.null_count() > 0 {
            let first = first_null(&column).unwrap_or(0);
            bail!(
                "{}: row {}, column {:?} ({}): the cell is empty, and every {} row needs a {} \
                 ({} empty cells in this column)",
                info.display,
                info.row_number(first),
                binding.header,
                binding.role,
                kind.name().trim_end_matches('s'),
                binding.role,
                column.null_count()
            );
        }
        columns.push(column);
    }
    let df = DataFrame::new_infer_height(columns)
        .map_err(|e| anyhow!("{}: {}", info.display, source::polars_message(&e)))?;
    watch.lap("  load: values checked and typed");
    Ok(Table {
        kind,
        df,
        info,
        bindings,
    })
}

/// Columns whose sampled cells are all plain numbers (money) or ISO `YYYY-MM-DD` dates, which
/// polars can then parse itself while reading. Nothing is decided without a sample, and an explicit
/// `--date-format` or `--decimal-comma` always goes through crm-eval's own parsers.
fn fast_types(
    raw: &source::RawSource,
    bindings: &[Binding],
    opts: &ValueOptions,
) -> Vec<(String, DataType)> {
    let mut typed = Vec::new();
    for binding in bindings {
        let Some(index) = raw.headers.iter().position(|h| *h == binding.header) else {
            continue;
        };
        let cells: Vec<&str> = raw
            .sample
            .iter()
            .filter_map(|row| row.get(index))
            .map(|c| c.as_str())
            .filter(|c| !c.is_empty())
            .collect();
        if cells.is_empty() {
            continue;
        }
        let plain_number = |c: &&str| {
            c.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
                && c.parse::<f64>().is_ok_and(f64::is_finite)
        };
        let iso_date = |c: &&str| {
            let b = c.as_bytes();
            b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, x)| i == 4 || i == 7 || x.is_ascii_digit())
        };
        match binding.role.kind() {
            ValueKind::Money | ValueKind::Number
                if !opts.decimal_comma && cells.iter().all(plain_number) =>
            {
                typed.push((binding.header.clone(), DataType::Float64));
            }
            ValueKind::Date if opts.date_format.is_none() && cells.iter().all(iso_date) => {
                typed.push((binding.header.clone(), DataType::Date));
            }
            _ => {}
        }
    }
    typed
}

/// Resolves the roles of `kind`, turning a failure into an error that lists what was found and
/// what was tried.
pub fn resolve_or_explain(
    kind: TableKind,
    headers: &[String],
    opts: &InputOptions,
    display: &str,
) -> Result<Vec<Binding>> {
    schema::resolve(kind, headers, &opts.mappings).map_err(|e| match e {
        ResolveError::Missing { role } => {
            let tried: Vec<&str> = role.synonyms().iter().take(12).copied().collect();
            anyhow!(
                "{display}: no column for {role}, which {kind} need (required: {}).\n  \
                 headers found: {}\n  names tried: {}, …\n  \
                 name it with --map {role}=HEADER",
                kind.required()
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                headers.join(", "),
                tried.join(", ")
            )
        }
        ResolveError::MappedHeaderMissing { role, header, via } => anyhow!(UsageError(format!(
            "{display}: {via} maps {role} to {header:?}, but the file has no such column \
             (headers found: {})",
            headers.join(", ")
        ))),
    })
}

/// Coerces one bound column of a raw frame.
pub fn coerce_binding(
    frame: &DataFrame,
    binding: &Binding,
    opts: &ValueOptions,
    info: &SourceInfo,
) -> Result<Coerced> {
    let raw = frame
        .column(&binding.header)
        .map_err(|e| anyhow!("{}: {}", info.display, source::polars_message(&e)))?;
    coerce::coerce(raw, binding.role.kind(), binding.role.name(), opts).map_err(|e| {
        anyhow!(
            "{}: column {:?} ({}): {}",
            info.display,
            binding.header,
            binding.role,
            source::polars_message(&e)
        )
    })
}

/// What a cell of this kind should look like, for error messages.
pub fn expectation(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Date | ValueKind::DateTime => {
            "a date such as 2024-01-05, 2024/1/5, 20240105 or an Excel serial number \
             (or name the format with --date-format)"
        }
        ValueKind::Money => "an amount such as 1234.50, ¥1,234.50, $1,234 or (33.52)",
        ValueKind::Number => "a number",
        ValueKind::Status => values::OrderStatus::ACCEPTED,
        ValueKind::Flag => values::FLAG_WORDS,
        ValueKind::Id | ValueKind::Text => "text",
    }
}

fn check_coerced(coerced: &Coerced, binding: &Binding, info: &SourceInfo) -> Result<()> {
    if let Some(BadCell { index, reason, .. }) = &coerced.ambiguous_order {
        bail!(
            "{}: row {}, column {:?} ({}): ambiguous day/month order: {reason}; \
             pass --date-format %d/%m/%Y (day first) or --date-format %m/%d/%Y (month first)",
            info.display,
            info.row_number(*index),
            binding.header,
            binding.role,
        );
    }
    if let Some(BadCell {
        index,
        value,
        reason,
    }) = &coerced.first_invalid
    {
        let more = match coerced.invalid {
            1 => String::new(),
            n => format!(" ({n} unreadable values in this column; this is the first)"),
        };
        bail!(
            "{}: row {}, column {:?} ({}): {value:?} is {reason}; expected {}{more}",
            info.display,
            info.row_number(*index),
            binding.header,
            binding.role,
            expectation(binding.role.kind()),
        );
    }
    Ok(())
}

fn first_null(column: &Column) -> Option<usize> {
    let mask = column.is_null();
    let first = mask.iter().position(|v| v == Some(true));
    first
}
