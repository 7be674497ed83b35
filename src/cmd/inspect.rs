//! `crm-eval inspect FILE`: how crm-eval reads a file — container, encoding, delimiter, which
//! column plays which role, each column's type, and counts of empty and unreadable cells.

use anyhow::{anyhow, Result};
use polars::prelude::*;

use crate::error::usage;
use crate::input::schema::{self, Role, TableKind, ValueKind};
use crate::input::source::{self, polars_message};
use crate::input::values::OrderStatus;
use crate::input::{coerce_binding, values};
use crate::output::{self, column_cells, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export to inspect (CSV/TSV, .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// Read it as this table (default: guessed from the headers).
    #[arg(long, value_name = "TABLE", value_parser = ["orders", "customers", "events", "followups", "surveys", "opportunities", "history", "teams"])]
    pub kind: Option<String>,

    /// Which tables to show: source (how the file is read) and columns (each column's role,
    /// type and quality). Default: both on a terminal or in a workbook; columns in a CSV stream.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub show: Vec<Show>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Show {
    /// Format, encoding, delimiter, rows and what loading decided.
    Source,
    /// Per column: role, type, empties, invalid values, examples.
    Columns,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let given = match &args.kind {
        Some(k) => Some(
            TableKind::from_name(k).ok_or_else(|| usage(format!("--kind {k:?}: unknown table")))?,
        ),
        None => None,
    };
    // A dataset of several files is described by its first file, with its partition columns.
    let files = crate::input::files::expand(&args.file)?;
    let first = &files[0];
    if files.len() > 1 || first.path != args.file {
        note(
            &settings.output,
            format!(
                "{}: {} files read as one table by the other commands; this describes the first, {}",
                args.file,
                files.len(),
                first.path
            ),
        );
    }
    let raw = source::open(&first.path, &settings.input.read)?;
    if settings.input.read.names.is_none() && source::header_looks_like_data(&raw.headers) {
        note(
            &settings.output,
            format!("{}: {}", raw.info.display, source::NO_HEADER_HINT),
        );
    }
    let added: Vec<&(String, Option<String>)> = first
        .partitions
        .iter()
        .filter(|(key, _)| !raw.headers.contains(key))
        .collect();
    let mut headers = raw.headers.clone();
    headers.extend(added.iter().map(|(key, _)| key.clone()));
    let kind = given.or_else(|| schema::guess_kind(&headers, &settings.input.mappings));
    let (bindings, missing) = match kind {
        Some(k) => {
            schema::resolve_partial(k, &headers, &settings.input.mappings).map_err(|_| {
                anyhow!(usage(format!(
                "{}: a --map or config mapping names a column the file does not have (headers: {})",
                raw.info.display,
                headers.join(", ")
            )))
            })?
        }
        None => (Vec::new(), Vec::new()),
    };
    let (mut frame, info) = raw.read(None, &[], &settings.input.read)?;
    for (key, value) in added {
        let cells = vec![value.as_deref(); frame.height()];
        frame.with_column(Column::new(key.as_str().into(), cells))?;
    }

    let mut col_name = Vec::new();
    let mut col_role = Vec::new();
    let mut col_type = Vec::new();
    let mut non_empty = Vec::new();
    let mut empty = Vec::new();
    let mut invalid = Vec::new();
    let mut distinct = Vec::new();
    let mut example = Vec::new();
    let mut min = Vec::new();
    let mut max = Vec::new();
    let mut first_problem = Vec::new();
    let mut coerced_columns: Vec<(Role, Column)> = Vec::new();

    for column in frame.columns() {
        let name = column.name().to_string();
        let binding = bindings.iter().find(|b| b.header == name);
        let nulls = column.null_count();
        col_name.push(name.clone());
        col_role.push(
            binding
                .map(|b| format!("{} ({})", b.role, b.via))
                .unwrap_or_default(),
        );
        non_empty.push((column.len() - nulls) as i64);
        empty.push(nulls as i64);
        distinct.push(
            column
                .as_materialized_series()
                .n_unique()
                .map_err(|e| anyhow!("{}: {}", info.display, polars_message(&e)))?
                as i64,
        );
        let cells = column_cells(column)
            .map_err(|e| anyhow!("{}: {}", info.display, polars_message(&e)))?;
        example.push(
            cells
                .iter()
                .map(|c| c.text())
                .find(|t| !t.is_empty())
                .unwrap_or_default(),
        );
        match binding {
            Some(b) => {
                let coerced = coerce_binding(&frame, b, &settings.input.values, &info)?;
                col_type.push(match b.role {
                    Role::Quantity => "number".to_string(),
                    role => kind_name(role.kind()).to_string(),
                });
                invalid.push(Some(coerced.invalid as i64));
                let problem = coerced
                    .ambiguous_order
                    .as_ref()
                    .map(|bad| format!("row {}: {}", info.row_number(bad.index), bad.reason))
                    .or_else(|| {
                        coerced.first_invalid.as_ref().map(|bad| {
                            format!(
                                "row {}: {:?} {}",
                                info.row_number(bad.index),
                                bad.value,
                                bad.reason
                            )
                        })
                    });
                first_problem.push(problem.unwrap_or_default());
                let (lo, hi) = match b.role.kind() {
                    ValueKind::Money => extremes(&money_as_f64(&coerced.column)?)?,
                    // Statuses load as codes; their order means nothing to a reader.
                    ValueKind::Status => (String::new(), String::new()),
                    _ => extremes(&coerced.column)?,
                };
                min.push(lo);
                max.push(hi);
                coerced_columns.push((b.role, coerced.column));
            }
            None => {
                col_type.push(format!("{} (unused)", guess_type(column)));
                invalid.push(None);
                first_problem.push(String::new());
                min.push(String::new());
                max.push(String::new());
            }
        }
    }

    let columns = DataFrame::new_infer_height(vec![
        Column::new("column".into(), col_name),
        Column::new("role".into(), col_role),
        Column::new("type".into(), col_type),
        Column::new("non_empty".into(), non_empty),
        Column::new("empty".into(), empty),
        Column::new("invalid".into(), invalid),
        Column::new("distinct".into(), distinct),
        Column::new("example".into(), example),
        Column::new("min".into(), min),
        Column::new("max".into(), max),
        Column::new("first_problem".into(), first_problem),
    ])?;

    let mut facts: Vec<(&str, String)> = vec![
        ("file", info.display.clone()),
        ("container", info.container.name().to_string()),
        (
            "compression",
            info.compression.unwrap_or("none").to_string(),
        ),
    ];
    if let Some(e) = info.encoding {
        facts.push(("encoding", e.to_string()));
    }
    if let Some(d) = info.delimiter {
        facts.push(("delimiter", delimiter_name(d)));
    }
    if let Some(s) = &info.sheet {
        facts.push(("sheet", s.clone()));
    }
    facts.push(("rows", frame.height().to_string()));
    facts.push(("columns", frame.width().to_string()));
    facts.push((
        "table",
        match (kind, given) {
            (Some(k), Some(_)) => format!("{k} (--kind)"),
            (Some(k), None) => format!("{k} (guessed from the headers)"),
            (None, _) => {
                "unknown: no table's required columns all match; use --map or --kind".to_string()
            }
        },
    ));
    if !missing.is_empty() {
        facts.push((
            "missing_required",
            missing
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    facts.extend(quality_facts(&coerced_columns, frame.height())?);
    let source_table = DataFrame::new_infer_height(vec![
        Column::new(
            "property".into(),
            facts.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            facts.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        ),
    ])?;
    let sheets: Vec<(&str, &DataFrame)> = [
        (Show::Source, "source", &source_table),
        (Show::Columns, "columns", &columns),
    ]
    .into_iter()
    .filter(|(s, _, _)| args.show.is_empty() || args.show.contains(s))
    .map(|(_, name, df)| (name, df))
    .collect();
    let main = match args.show.as_slice() {
        [] => Some("columns"),
        [one] => Some(if *one == Show::Source {
            "source"
        } else {
            "columns"
        }),
        _ => None,
    };
    output::emit_sheets(&sheets, main, &settings.output)
}

fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Id => "id",
        ValueKind::Text => "text",
        ValueKind::Date => "date",
        ValueKind::DateTime => "datetime",
        ValueKind::Money => "money",
        ValueKind::Number => "number",
        ValueKind::Status => "status",
        ValueKind::Flag => "yes/no",
        ValueKind::Count => "count",
    }
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        b',' => "comma".to_string(),
        b';' => "semicolon".to_string(),
        b'|' => "pipe".to_string(),
        other => format!("{:?}", other as char),
    }
}

/// What an unused column looks like, judged on every value: number (plain numbers only: an ID
/// such as `C536379` is text), date, or text.
fn guess_type(column: &Column) -> &'static str {
    if column.dtype().is_primitive_numeric() {
        return "number";
    }
    if matches!(column.dtype(), DataType::Date | DataType::Datetime(_, _)) {
        return "date";
    }
    let Ok(ca) = column.as_materialized_series().str().cloned() else {
        return "text";
    };
    let mut values = ca
        .iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .peekable();
    if values.peek().is_none() {
        return "empty";
    }
    let plain_number = |s: &str| {
        !s.bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
            && values::parse_money(s, false).is_some()
    };
    let date = |s: &str| {
        !matches!(
            values::parse_date(
                s,
                values::DayMonthOrder::DayFirst,
                values::ExcelEpoch::Excel1900
            ),
            values::DateParse::Invalid(_)
        )
    };
    let (mut number, mut dated) = (true, true);
    for s in values {
        number = number && plain_number(s);
        // A date must have a separator or a time: a bare 20240105 or an Excel serial is a number.
        dated = dated && s.bytes().any(|b| !b.is_ascii_digit() && b != b'.') && date(s);
        if !number && !dated {
            return "text";
        }
    }
    if dated {
        "date"
    } else {
        "number"
    }
}

/// A Money column (exact Int64 units) as currency amounts, for display.
fn money_as_f64(column: &Column) -> Result<Column> {
    let values: Float64Chunked = column
        .i64()?
        .iter()
        .map(|v| v.map(|v| crate::money::Money(v).to_f64()))
        .collect();
    Ok(values.with_name(column.name().clone()).into_column())
}

fn extremes(column: &Column) -> Result<(String, String)> {
    if !(column.dtype().is_primitive_numeric()
        || matches!(column.dtype(), DataType::Date | DataType::Datetime(_, _)))
    {
        return Ok((String::new(), String::new()));
    }
    let sorted = column
        .as_materialized_series()
        .drop_nulls()
        .sort(SortOptions::default())
        .map_err(|e| anyhow!(polars_message(&e)))?;
    if sorted.is_empty() {
        return Ok((String::new(), String::new()));
    }
    let col = sorted.into_column();
    let cells = column_cells(&col).map_err(|e| anyhow!(polars_message(&e)))?;
    let first = cells.first().map(|c| c.text()).unwrap_or_default();
    let last = cells.last().map(|c| c.text()).unwrap_or_default();
    Ok((first, last))
}

/// Data-quality counts that matter for the analyses: customers, order statuses, negative amounts,
/// repeated order IDs, duplicate rows.
fn quality_facts(columns: &[(Role, Column)], rows: usize) -> Result<Vec<(&'static str, String)>> {
    let mut facts = Vec::new();
    let get = |role: Role| columns.iter().find(|(r, _)| *r == role).map(|(_, c)| c);
    if let Some(c) = get(Role::CustomerId) {
        facts.push((
            "customers",
            c.as_materialized_series()
                .drop_nulls()
                .n_unique()?
                .to_string(),
        ));
    }
    if let Some(c) = get(Role::CustomerId) {
        let empty = c.null_count();
        if empty > 0 {
            facts.push((
                "rows_without_customer_id",
                format!("{empty} (left out by every command; --strict makes them an error)"),
            ));
        }
    }
    if get(Role::Amount).is_none()
        && get(Role::Quantity).is_some()
        && get(Role::UnitPrice).is_some()
    {
        facts.push((
            "amount",
            format!(
                "computed per line: quantity × unit_price{} (docs/metrics.md, Line items)",
                if get(Role::Discount).is_some() {
                    ", less the discount"
                } else {
                    ""
                }
            ),
        ));
    }
    if let Some(c) = get(Role::OrderId) {
        let cancellations = c
            .as_materialized_series()
            .str()?
            .iter()
            .flatten()
            .filter(|id| {
                id.len() > 1
                    && matches!(id.as_bytes()[0], b'C' | b'c')
                    && id[1..].bytes().all(|b| b.is_ascii_digit())
            })
            .count();
        if cancellations > 0 {
            facts.push((
                "cancellation_rows",
                format!(
                    "{cancellations} (order IDs C + number; refunds linked to the order they cancel when the file also has plain numbers)"
                ),
            ));
        }
    }
    if let Some(c) = get(Role::Amount) {
        let negative = c
            .as_materialized_series()
            .i64()?
            .iter()
            .flatten()
            .filter(|v| *v < 0)
            .count();
        facts.push(("negative_amounts", negative.to_string()));
    }
    if let Some(c) = get(Role::Status) {
        // The loaded column holds status codes.
        let codes = c.as_materialized_series().u32()?.clone();
        for (label, status) in [
            ("status_paid", OrderStatus::Paid),
            ("status_refunded", OrderStatus::Refunded),
            ("status_cancelled", OrderStatus::Cancelled),
            ("status_unpaid", OrderStatus::Unpaid),
        ] {
            let n = codes.iter().filter(|c| *c == Some(status.code())).count();
            facts.push((label, n.to_string()));
        }
    }
    if let Some(c) = get(Role::OrderId) {
        let ids = c.as_materialized_series().drop_nulls();
        let repeated = ids.len() - ids.n_unique()?;
        facts.push(("order_id_repeats", repeated.to_string()));
    }
    if !columns.is_empty() {
        let df = DataFrame::new_infer_height(columns.iter().map(|(_, c)| c.clone()).collect())?;
        let unique = df
            .unique_stable(None, UniqueKeepStrategy::First, None)?
            .height();
        facts.push(("duplicate_rows", (rows - unique).to_string()));
    }
    Ok(facts)
}
