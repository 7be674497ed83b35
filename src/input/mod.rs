//! The input layer every subcommand shares: open a file of any supported container and encoding,
//! resolve its columns to roles, coerce values to canonical types, and fail with an error that names
//! the file, the row, the column and what was expected.

pub mod coerce;
mod explain;
pub mod files;
pub mod lines;
pub mod pieces;
pub mod rejects;
mod rows;
pub mod schema;
pub mod source;
pub mod values;

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;

use coerce::{Coerced, ValueOptions};
use schema::{Binding, MapEntry, Role, TableKind, ValueKind};
use source::{ReadOptions, SourceInfo};

use explain::{check_coerced, first_null};
pub use explain::{expectation, resolve_or_explain, shown};
use rejects::REJECTS;
pub use rejects::{take_rejects, BadRows, MaxRejects, Reject};
use rows::{derive_line_amounts, far_dates, leave_out_rows_without_id};

/// Everything that changes how inputs are read, resolved once from flags and the config file.
#[derive(Clone, Debug, Default)]
pub struct InputOptions {
    pub read: ReadOptions,
    pub values: ValueOptions,
    pub mappings: Vec<MapEntry>,
    /// Rows without an ID (guest checkouts) are an error instead of being left out (`--strict`).
    pub strict: bool,
    /// What a row with an unreadable or missing required cell does (`--on-bad-rows`).
    pub bad_rows: BadRows,
    /// Under `skip`: more skipped rows than this in one file fail the run (`--max-rejects`).
    pub max_rejects: Option<MaxRejects>,
    /// How a line-item discount column is read (`--line-discount`).
    pub discount: lines::DiscountKind,
}

impl InputOptions {
    /// The options a table of `kind` is read with: its own `--date-format TABLE=…` when given.
    pub fn for_table(&self, kind: TableKind) -> std::borrow::Cow<'_, InputOptions> {
        match self
            .values
            .table_date_formats
            .iter()
            .find(|(k, _)| *k == kind)
        {
            Some((_, format)) => {
                let mut own = self.clone();
                own.values.date_format = Some(format.clone());
                std::borrow::Cow::Owned(own)
            }
            None => std::borrow::Cow::Borrowed(self),
        }
    }
}

/// The roles of a line-item export, read only when the orders have no amount column.
const LINE_ROLES: [Role; 3] = [Role::Quantity, Role::UnitPrice, Role::Discount];

/// A loaded table: canonical columns named by [`Role::name`], in canonical types.
pub struct Table {
    pub kind: TableKind,
    pub df: DataFrame,
    pub info: SourceInfo,
    pub bindings: Vec<Binding>,
    /// What loading decided that the user should hear (rows left out, amounts computed), for
    /// the caller to print on stderr.
    pub notes: Vec<String>,
    /// The data row (0-based, in the file) of each row of `df` when rows without an ID were
    /// left out; `None` when every row was kept.
    pub kept: Option<Vec<usize>>,
}

impl Table {
    pub fn has(&self, role: Role) -> bool {
        self.bindings.iter().any(|b| b.role == role)
    }

    /// The row number to show for row `index` of `df`, counting the rows left out.
    pub fn row_number(&self, index: usize) -> usize {
        let row = self.kept.as_ref().map_or(index, |k| k[index]);
        self.info.row_number(row)
    }
}

/// Loads `path` as a table of `kind`, with its required roles and those optional roles of
/// `optional` that the file has (None: every optional role). Columns nobody asked for are
/// neither read nor checked.
///
/// `path` may name several files (a glob or a directory, [`files`]): each is read and checked
/// as a file of its own, then the rows are put together as one table.
pub fn load(
    path: &str,
    kind: TableKind,
    optional: Option<&[Role]>,
    opts: &InputOptions,
) -> Result<Table> {
    load_with_columns(path, kind, optional, &[], opts)
}

/// [`load`], also reading the columns of `headers` (names as the user wrote them, matched to the
/// file's headers as roles are: case, spaces and punctuation aside) as trimmed text columns
/// under those names, for grouping by a column no role stands for (`retention --by
/// InternetService`). A name the file lacks is a usage error listing its headers.
pub fn load_with_columns(
    path: &str,
    kind: TableKind,
    optional: Option<&[Role]>,
    headers: &[String],
    opts: &InputOptions,
) -> Result<Table> {
    let opts = &*opts.for_table(kind);
    if !files::is_dataset(path) {
        return load_source(
            source::open(path, &opts.read)?,
            &[],
            kind,
            optional,
            headers,
            opts,
        );
    }
    if !headers.is_empty() {
        bail!(crate::error::usage(format!(
            "{path}: columns by header ({}) are read from one file, not a dataset of several",
            headers.join(", ")
        )));
    }
    let mut tables = Vec::new();
    for_each_piece(path, None, kind, optional, opts, |table| {
        tables.push(table);
        Ok(())
    })?;
    combine(path, tables)
}

/// Reads `path` (a file or several, [`files`]) a piece at a time — files whole, or with
/// `piece_bytes` in pieces of about that size ([`pieces`]) — and hands each piece to `each` as
/// a table checked and typed like a whole file. Every piece of every file has the same columns
/// as the first, in its order, or the read fails naming the file that differs.
pub fn for_each_piece(
    path: &str,
    piece_bytes: Option<usize>,
    kind: TableKind,
    optional: Option<&[Role]>,
    opts: &InputOptions,
    mut each: impl FnMut(Table) -> Result<()>,
) -> Result<()> {
    let opts = &*opts.for_table(kind);
    let mut first: Option<(String, Vec<String>)> = None;
    for file in files::expand(path)? {
        let raw = source::open(&file.path, &opts.read)?;
        let sources: Box<dyn Iterator<Item = Result<source::RawSource>>> = match piece_bytes {
            Some(bytes) => Box::new(raw.pieces(bytes, opts.read.encoding)?),
            None => Box::new(std::iter::once(Ok(raw))),
        };
        for raw in sources {
            let mut table = load_source(raw?, &file.partitions, kind, optional, &[], opts)?;
            let names: Vec<String> = table
                .df
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            match &first {
                None => first = Some((table.info.display.clone(), names)),
                Some((display, wanted)) => {
                    let mut same = names.clone();
                    same.sort();
                    let mut theirs = wanted.clone();
                    theirs.sort();
                    if same != theirs {
                        bail!(
                            "{}: its columns are read as {} where {display}'s are {}; the files \
                             of {path} are read as one table and need the same columns",
                            table.info.display,
                            names.join(", "),
                            wanted.join(", ")
                        );
                    }
                    table.df = table
                        .df
                        .select(wanted.iter().map(|n| PlSmallStr::from(n.as_str())))?;
                }
            }
            each(table)?;
        }
    }
    Ok(())
}

/// The tables of several files as one: rows in file order, the first file's bindings, every
/// file's notes, and `display` (the pattern or directory) naming the whole.
fn combine(display: &str, tables: Vec<Table>) -> Result<Table> {
    let mut tables = tables.into_iter();
    let Some(mut table) = tables.next() else {
        bail!("{display}: matches no file");
    };
    let files = 1 + tables.len();
    for other in tables {
        table.df.vstack_mut_owned(other.df).map_err(|e| {
            anyhow!(
                "{}: cannot be read with {}: {}",
                other.info.display,
                table.info.display,
                source::polars_message(&e)
            )
        })?;
        table.notes.extend(other.notes);
    }
    table.df.rechunk_mut();
    table.info.display = display.to_string();
    if files > 1 {
        table.notes = capped_notes(table.notes);
        // Rows of several files have no one row number.
        table.kept = None;
    }
    Ok(table)
}

/// At most a few of the notes of the files or pieces of a dataset, and how many more there were.
pub fn capped_notes(mut notes: Vec<String>) -> Vec<String> {
    const SHOWN: usize = 5;
    // The same words from several pieces are said once.
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    if notes.len() <= SHOWN {
        return notes;
    }
    let more = notes.len() - SHOWN;
    let mut kept: Vec<String> = notes.into_iter().take(SHOWN).collect();
    kept.push(format!(
        "… and {more} more notes like these from other files or pieces of the input"
    ));
    kept
}

/// [`load`] of one source: `partitions` are the `key=value` directories above it, added as
/// columns the file does not have.
fn load_source(
    raw: source::RawSource,
    partitions: &[(String, Option<String>)],
    kind: TableKind,
    optional: Option<&[Role]>,
    extra: &[String],
    opts: &InputOptions,
) -> Result<Table> {
    let added: Vec<&(String, Option<String>)> = partitions
        .iter()
        .filter(|(key, _)| !raw.headers.contains(key))
        .collect();
    let mut headers = raw.headers.clone();
    headers.extend(added.iter().map(|(key, _)| key.clone()));
    let mut bindings = resolve_or_explain(kind, &headers, opts, &raw.info)?;
    let mut header_notes = Vec::new();
    if opts.read.names.is_none() && source::header_looks_like_data(&raw.headers) {
        header_notes.push(format!("{}: {}", raw.info.display, source::NO_HEADER_HINT));
    }
    // Quantity, unit price and discount are read only to compute a missing amount.
    let derive_amount =
        kind.derivable(Role::Amount).is_some() && !bindings.iter().any(|b| b.role == Role::Amount);
    bindings.retain(|b| {
        if LINE_ROLES.contains(&b.role) {
            return derive_amount;
        }
        kind.required().contains(&b.role) || optional.is_none_or(|wanted| wanted.contains(&b.role))
    });
    let mut wanted: Vec<String> = bindings
        .iter()
        .map(|b| b.header.clone())
        .filter(|h| raw.headers.contains(h))
        .collect();
    let mut extra_headers = Vec::with_capacity(extra.len());
    for name in extra {
        let wanted_name = schema::normalise_header(name);
        let Some(header) = raw
            .headers
            .iter()
            .find(|h| schema::normalise_header(h) == wanted_name)
        else {
            bail!(crate::error::usage(format!(
                "{name}: {} has no such column (headers: {})",
                raw.info.display,
                raw.headers.join(", ")
            )));
        };
        if !wanted.contains(header) {
            wanted.push(header.clone());
        }
        extra_headers.push((name.clone(), header.clone()));
    }
    let typed = fast_types(&raw, &bindings, &opts.values);
    let watch = crate::diag::Stopwatch::new();
    let (mut frame, info) = raw.read(Some(&wanted), &typed, &opts.read)?;
    for (key, value) in added {
        if bindings.iter().any(|b| b.header == *key) {
            let cells = vec![value.as_deref(); frame.height()];
            frame.with_column(Column::new(key.as_str().into(), cells))?;
        }
    }
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
    let skip = opts.bad_rows == BadRows::Skip;
    // Under --on-bad-rows skip: the first bad cell of each row to leave out, by data row.
    let mut bad_rows: std::collections::BTreeMap<usize, (String, String, String)> =
        std::collections::BTreeMap::new();
    let mut columns = Vec::with_capacity(bindings.len() + extra_headers.len() + 1);
    let mut order_time = None;
    for (binding, coerced) in bindings.iter().zip(coerced_all) {
        let mut coerced = coerced?;
        if binding.role == Role::OrderDate {
            order_time = coerced.time_of_day.take();
        }
        if skip && coerced.ambiguous_order.is_none() {
            for b in &coerced.bad {
                bad_rows.entry(b.index).or_insert_with(|| {
                    (
                        binding.header.clone(),
                        b.value.clone(),
                        format!(
                            "{}; expected {}",
                            b.reason,
                            expectation(binding.role.kind())
                        ),
                    )
                });
            }
        } else {
            check_coerced(&coerced, binding, &info)?;
        }
        columns.push(coerced.column);
    }
    for (name, header) in &extra_headers {
        let text = frame.column(header)?.cast(&DataType::String)?;
        let text: StringChunked = text
            .str()?
            .iter()
            .map(|v| v.map(str::trim).filter(|v| !v.is_empty()))
            .collect();
        columns.push(text.with_name(name.as_str().into()).into_column());
    }
    if let Some(times) = order_time {
        columns.push(times.with_name(ORDER_TIME.into()));
    }
    drop(frame);
    let mut notes = header_notes;
    for (binding, column) in bindings.iter().zip(&columns) {
        if let Some(line) = far_dates(column, binding, &info) {
            notes.push(line);
        }
    }
    let mut df = DataFrame::new_infer_height(columns)
        .map_err(|e| anyhow!("{}: {}", info.display, source::polars_message(&e)))?;
    let rows_read = df.height();
    let mut row_index: Option<Vec<usize>> = None;
    let mut rejects: Vec<Reject> = Vec::new();
    if !bad_rows.is_empty() {
        let keep: BooleanChunked = (0..df.height())
            .map(|i| !bad_rows.contains_key(&i))
            .collect();
        df = df.filter(&keep)?;
        row_index = Some(
            (0..keep.len())
                .filter(|i| !bad_rows.contains_key(i))
                .collect(),
        );
        rejects.extend(
            bad_rows
                .into_iter()
                .map(|(i, (column, value, reason))| Reject {
                    file: info.display.clone(),
                    row: info.row_number(i),
                    column,
                    value,
                    reason,
                }),
        );
    }
    if derive_amount {
        let file_row = |i: usize| row_index.as_ref().map_or(i, |k| k[i]);
        let amount = derive_line_amounts(&df, &bindings, opts, &info, &file_row, &mut notes)?;
        df.with_column(amount.into_column())?;
    }
    if kind.id_role().is_some() {
        let skipped = row_index.clone();
        let file_row = |i: usize| skipped.as_ref().map_or(i, |k| k[i]);
        let kept = leave_out_rows_without_id(
            &mut df, kind, &bindings, opts, &info, &file_row, &mut notes,
        )?;
        row_index = compose(row_index, kept);
    }
    // Every other required cell must be there (for a computed amount: its quantity and price).
    for binding in &bindings {
        let needed = (kind.required().contains(&binding.role)
            && !kind.may_be_empty().contains(&binding.role))
            || (derive_amount && matches!(binding.role, Role::Quantity | Role::UnitPrice));
        let column = df.column(binding.role.name())?;
        if needed && column.null_count() > 0 && skip {
            // Skipped: every row whose required cell is empty.
            let empty = column.is_null();
            let why = format!(
                "the cell is empty, and every {} row needs {} {}",
                kind.singular(),
                article(binding.role.name()),
                binding.role
            );
            for (i, e) in empty.iter().enumerate() {
                if e == Some(true) {
                    rejects.push(Reject {
                        file: info.display.clone(),
                        row: info.row_number(row_index.as_ref().map_or(i, |k| k[i])),
                        column: binding.header.clone(),
                        value: String::new(),
                        reason: why.clone(),
                    });
                }
            }
            let keep = !&empty;
            let kept: Vec<usize> = (0..keep.len())
                .filter(|&i| keep.get(i) == Some(true))
                .collect();
            df = df.filter(&keep)?;
            row_index = compose(row_index, Some(kept));
            continue;
        }
        if needed && column.null_count() > 0 {
            let first = first_null(column).unwrap_or(0);
            let row = row_index.as_ref().map_or(first, |kept| kept[first]);
            bail!(
                "{}: row {}, column {:?} ({}): the cell is empty, and every {} row needs {} {} \
                 ({} empty cells in this column)",
                info.display,
                info.row_number(row),
                binding.header,
                binding.role,
                kind.singular(),
                article(binding.role.name()),
                binding.role,
                column.null_count()
            );
        }
    }
    if derive_amount {
        // The computed amount now stands for its inputs.
        for role in LINE_ROLES {
            let _ = df.drop_in_place(role.name());
        }
    }
    watch.lap("  load: values checked and typed");
    if !rejects.is_empty() {
        rejects.sort_by_key(|r| r.row);
        let examples: Vec<String> = rejects
            .iter()
            .take(3)
            .map(|r| {
                let reason = r.reason.split("; expected").next().unwrap_or(&r.reason);
                match r.value.as_str() {
                    "" => format!("row {}, column {:?}: {reason}", r.row, r.column),
                    v => format!(
                        "row {}, column {:?}: {} {reason}",
                        r.row,
                        r.column,
                        shown(v)
                    ),
                }
            })
            .collect();
        let skipped = format!(
            "{}: skipped {} of {} rows ({:.1} %) for a bad or missing cell",
            info.display,
            rejects.len(),
            rows_read,
            100.0 * rejects.len() as f64 / rows_read.max(1) as f64,
        );
        if let Some(max) = opts
            .max_rejects
            .filter(|m| m.exceeded(rejects.len(), rows_read))
        {
            bail!(
                "{skipped}, more than --max-rejects {max} allows; first at {}",
                examples[0]
            );
        }
        notes.push(format!(
            "{skipped} (--on-bad-rows skip; --rejects FILE lists them); first at {}{}",
            examples.join("; "),
            if rejects.len() > 3 { "; …" } else { "" }
        ));
        if let Ok(mut all) = REJECTS.lock() {
            all.extend(rejects);
        }
    }
    Ok(Table {
        kind,
        df,
        info,
        bindings,
        notes,
        kept: row_index,
    })
}

/// The data rows of a frame filtered twice: `inner` maps the second filter's rows into the
/// first's, `outer` the first's into the file's.
fn compose(outer: Option<Vec<usize>>, inner: Option<Vec<usize>>) -> Option<Vec<usize>> {
    match (outer, inner) {
        (None, inner) => inner,
        (outer, None) => outer,
        (Some(outer), Some(inner)) => Some(inner.into_iter().map(|i| outer[i]).collect()),
    }
}

/// "a" or "an" before a role name as it is written (`an order_id`, `a customer_id`).
pub fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
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

/// The column beside `order_date` holding each order row's time of day in milliseconds since
/// midnight, present only when the export's order dates carry times (it orders a cancellation
/// against purchases of the same day).
pub const ORDER_TIME: &str = "order_time";

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
