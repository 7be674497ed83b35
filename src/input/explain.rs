//! The input layer's errors, in the words of the export: a header that resolves to no role (with
//! the headers that come close), a cell that cannot be read (its file, row, column, value and
//! what was expected), a cell shortened for quoting.

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;

use super::coerce::{BadCell, Coerced};
use super::schema::{self, Binding, ResolveError, TableKind, ValueKind};
use super::source::{self, SourceInfo};
use super::{values, InputOptions};
use crate::error::UsageError;

/// Resolves the roles of `kind`, turning a failure into an error that lists what was found and
/// what was tried.
pub fn resolve_or_explain(
    kind: TableKind,
    headers: &[String],
    opts: &InputOptions,
    info: &SourceInfo,
) -> Result<Vec<Binding>> {
    let display = info.display.as_str();
    schema::resolve(kind, headers, &opts.mappings).map_err(|e| match e {
        ResolveError::Missing { role } => {
            // A workbook whose first sheet is a cover or a pivot: another sheet may have them.
            let sheet_hint = match source::other_sheet_with(info, &|h: &[String]| {
                schema::resolve(kind, h, &opts.mappings).is_ok()
            }) {
                Some(sheet) => {
                    format!("\n  sheet {sheet:?} has the columns: add --sheet {sheet:?}")
                }
                None => String::new(),
            };
            let tried: Vec<&str> = role.synonyms().iter().take(12).copied().collect();
            anyhow!(
                "{display}: no column for {role}, which {kind} need (required: {}).\n  \
                 headers found: {}\n  names tried: {}, …\n  \
                 name it with --map {role}=HEADER{}{}{}",
                kind.required()
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                headers.join(", "),
                tried.join(", "),
                match kind.derivable(role) {
                    Some(from) => format!(
                        ", or give the columns it is computed from: {}",
                        from.iter()
                            .map(|r| r.name())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                    None => String::new(),
                },
                if source::header_looks_like_data(headers) {
                    format!("\n  {}", source::NO_HEADER_HINT)
                } else {
                    String::new()
                },
                sheet_hint
            )
        }
        ResolveError::Ambiguous {
            role,
            headers: both,
        } => anyhow!(
            "{display}: columns {} {} name {role}, and crm-eval cannot tell which is meant; \
             choose one with --map {kind}.{role}=HEADER",
            both.iter()
                .map(|h| format!("{h:?}"))
                .collect::<Vec<_>>()
                .join(" and "),
            if both.len() == 2 { "both" } else { "all" }
        ),
        ResolveError::MappedHeaderMissing { role, header, via } => anyhow!(UsageError(format!(
            "{display}: {via} maps {role} to {header:?}, but the file has no such column \
             (headers found: {})",
            headers.join(", ")
        ))),
    })
}

/// A cell's value as a message quotes it: whole when short, else its start and its length (a
/// 5,000-character cell in an error hides the rest of the message).
pub fn shown(value: &str) -> String {
    const KEEP: usize = 60;
    let length = value.chars().count();
    if length <= KEEP + 20 {
        return format!("{value:?}");
    }
    let start: String = value.chars().take(KEEP).collect();
    format!("{:?} ({length} characters)", format!("{start}…"))
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
        ValueKind::Count => "a whole number of periods such as 0, 12 or 72",
        ValueKind::Status => values::OrderStatus::ACCEPTED,
        ValueKind::Flag => values::FLAG_WORDS,
        ValueKind::Id | ValueKind::Text => "text",
    }
}

pub(super) fn check_coerced(coerced: &Coerced, binding: &Binding, info: &SourceInfo) -> Result<()> {
    if let Some(BadCell {
        index,
        value,
        reason,
    }) = &coerced.ambiguous_order
    {
        let [day_first, month_first] = values::suggest_date_formats(value)
            .unwrap_or_else(|| ["%d/%m/%Y".into(), "%m/%d/%Y".into()]);
        bail!(
            "{}: row {}, column {:?} ({}): ambiguous day/month order: {reason}; \
             pass --date-format '{day_first}' (day first) or --date-format '{month_first}' \
             (month first)",
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
        let fitting = if matches!(binding.role.kind(), ValueKind::Date | ValueKind::DateTime) {
            values::fitting_date_formats(value)
        } else {
            Vec::new()
        };
        let fits = match fitting.as_slice() {
            [] => String::new(),
            [(f, order)] => format!("; for this value: --date-format '{f}' ({order})"),
            [(d, _), (m, _), ..] => {
                format!("; for this value: --date-format '{d}' (day first) or '{m}' (month first)")
            }
        };
        bail!(
            "{}: row {}, column {:?} ({}): {} {reason}; expected {}{more}{fits}",
            info.display,
            info.row_number(*index),
            binding.header,
            binding.role,
            shown(value),
            expectation(binding.role.kind()),
        );
    }
    Ok(())
}

pub(super) fn first_null(column: &Column) -> Option<usize> {
    let mask = column.is_null();
    let first = mask.iter().position(|v| v == Some(true));
    first
}
