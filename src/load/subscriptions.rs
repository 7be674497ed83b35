//! A subscriptions or contracts export as subscriptions (docs/metrics.md, "Retention"): from a
//! start and an end date per row (rows of a customer chained within `--grace`), or from a tenure
//! in periods and a churned flag (IBM's Telco export). Each subscription keeps its `--by`
//! values, plan, recurring amount and owner from its latest row.

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::day::{iso, Day};
use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::input::Table;
use crate::metrics::retention::{chain, DatedRow, Subscription, Unit};
use crate::metrics::UNKNOWN;
use crate::money::Money;
use crate::output::note;
use crate::settings::Settings;

/// The subscriptions of a file and the analysis date they were counted at (dates only).
pub struct Loaded {
    pub subscriptions: Vec<Subscription>,
    pub as_of: Option<Day>,
    pub display: String,
    pub dated: bool,
    pub has_mrr: bool,
    pub has_owner: bool,
    pub has_plan: bool,
}

/// Reads `path` with the `--by` columns `by` (roles of the file, such as plan or owner, or
/// headers) and makes its subscriptions.
pub fn load(
    path: &str,
    by: &[String],
    unit: Unit,
    grace: i32,
    as_of: Option<Day>,
    settings: &Settings,
) -> Result<Loaded> {
    let is_role = |name: &str| {
        Role::from_name(name).filter(|r| TableKind::Subscriptions.roles().any(|x| x == *r))
    };
    let headers: Vec<String> = by
        .iter()
        .filter(|n| is_role(n).is_none())
        .cloned()
        .collect();
    let table = crate::input::load_with_columns(
        path,
        TableKind::Subscriptions,
        Some(TableKind::Subscriptions.optional()),
        &headers,
        &settings.input,
    )?;
    for line in &table.notes {
        note(&settings.output, line);
    }
    let display = table.info.display.clone();
    for name in by {
        if let Some(role) = is_role(name) {
            if !table.has(role) {
                bail!(usage(format!(
                    "--by {name}: {display} has no {role} column; name it with --map {role}=HEADER"
                )));
            }
        }
    }
    if table.df.height() == 0 {
        bail!("{display}: no subscription rows after the header");
    }
    let dated = table.has(Role::StartDate);
    if !dated && !table.has(Role::Tenure) {
        bail!(
            "{display}: retention needs each subscription's start date (a start_date column: \
             start_date, subscription_start, 开始日期, …) or its tenure in periods (tenure, \
             在网时长, …) with a churned flag; name them with --map start_date=HEADER or --map \
             tenure=HEADER"
        );
    }
    let text = |name: &str| -> Result<Option<StringChunked>> {
        match table.df.column(name) {
            Ok(c) => Ok(Some(c.str()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let Some(ids) = text(Role::CustomerId.name())? else {
        bail!("{display}: no customer_id column");
    };
    let owners = text(Role::Owner.name())?;
    let plans = text(Role::Plan.name())?;
    let mrr: Option<Int64Chunked> = match table.df.column(Role::Mrr.name()) {
        Ok(c) => Some(c.i64()?.clone()),
        Err(_) => None,
    };
    let keys: Vec<StringChunked> = by
        .iter()
        .map(|n| {
            let column = is_role(n).map_or(n.as_str(), |r| r.name());
            Ok(table
                .df
                .column(column)?
                .cast(&DataType::String)?
                .str()?
                .clone())
        })
        .collect::<Result<_>>()?;
    let make = |row: usize, start: Option<i32>, periods: u32, churned: bool| Subscription {
        id: ids.get(row).unwrap_or("").to_string(),
        owner: owners
            .as_ref()
            .and_then(|o| o.get(row))
            .filter(|s| !s.is_empty())
            .map(String::from),
        key: keys
            .iter()
            .map(|k| {
                k.get(row)
                    .and_then(crate::input::values::group_value)
                    .unwrap_or(UNKNOWN)
                    .to_string()
            })
            .collect(),
        plan: plans.as_ref().and_then(|p| p.get(row)).map(String::from),
        start,
        end: None,
        periods,
        churned,
        mrr: mrr.as_ref().and_then(|m| m.get(row)).map(Money),
    };
    let mut loaded = Loaded {
        subscriptions: Vec::new(),
        as_of: None,
        display: display.clone(),
        dated,
        has_mrr: mrr.is_some(),
        has_owner: owners.is_some(),
        has_plan: plans.is_some(),
    };
    if dated {
        if table.has(Role::Tenure) || table.has(Role::Churned) {
            note(
                &settings.output,
                format!(
                    "{display}: periods and churn are counted from the start and end dates; \
                     the tenure and churned columns are not read"
                ),
            );
        }
        let (rows, as_of) = dated_rows(&table, unit, as_of, settings)?;
        let mut rows = rows;
        rows.sort_by(|a, b| a.id.cmp(&b.id).then(a.index.cmp(&b.index)));
        let chains = chain(&rows, grace);
        let chained = rows.len() - chains.len();
        if chained > 0 {
            note(
                &settings.output,
                format!(
                    "{display}: {chained} rows renew an earlier subscription of the same customer \
                     (they start by the day after its end{}) and are counted as one with it",
                    if grace > 0 {
                        format!(" plus {grace} days of --grace")
                    } else {
                        String::new()
                    }
                ),
            );
        }
        let mut later = 0usize;
        for c in chains {
            match unit.spell(c.start, c.end, as_of) {
                Some((periods, churned)) => {
                    let mut s = make(c.latest, Some(c.start), periods, churned);
                    // The chain's first start and last end, with its latest row's attributes.
                    s.start = Some(c.start);
                    s.end = c.end;
                    loaded.subscriptions.push(s);
                }
                None => later += 1,
            }
        }
        if later > 0 {
            note(
                &settings.output,
                format!(
                    "{display}: {later} subscriptions start on or after {as_of} and are left out",
                ),
            );
        }
        loaded.as_of = Some(as_of);
    } else {
        if !table.has(Role::Churned) {
            bail!(
                "{display}: a tenure needs a churned flag per subscriber (a churned column: \
                 churn, churned, 是否流失, …, yes/no); name it with --map churned=HEADER"
            );
        }
        required(&table, Role::Tenure)?;
        required(&table, Role::Churned)?;
        let tenure = table.df.column(Role::Tenure.name())?.i64()?.clone();
        let churned = table.df.column(Role::Churned.name())?.bool()?.clone();
        let mut zero = 0usize;
        for row in 0..table.df.height() {
            let n = tenure.get(row).unwrap_or(0) as u32;
            let lost = churned.get(row).unwrap_or(false);
            // Lost before their first period ended: lost in period 1.
            let periods = if lost && n == 0 {
                zero += 1;
                1
            } else {
                n
            };
            loaded.subscriptions.push(make(row, None, periods, lost));
        }
        if zero > 0 {
            note(
                &settings.output,
                format!(
                    "{display}: {zero} churned subscribers have a tenure of 0 and are counted as \
                     lost in their first {}",
                    unit.name()
                ),
            );
        }
    }
    if loaded.subscriptions.is_empty() {
        bail!("{display}: no subscription started before the analysis date");
    }
    Ok(loaded)
}

/// A required cell of `role` in every row, or an error naming the first empty one.
fn required(table: &Table, role: Role) -> Result<()> {
    let column = table.df.column(role.name())?;
    if column.null_count() == 0 {
        return Ok(());
    }
    let first = column
        .is_null()
        .iter()
        .position(|v| v == Some(true))
        .unwrap_or(0);
    let header = header_of(table, role);
    bail!(
        "{}: row {}, column {header:?} ({role}): the cell is empty, and every subscription row \
         needs {} {role} ({} empty cells in this column)",
        table.info.display,
        table.row_number(first),
        crate::input::article(role.name()),
        column.null_count()
    )
}

fn header_of(table: &Table, role: Role) -> String {
    table
        .bindings
        .iter()
        .find(|b| b.role == role)
        .map_or_else(|| role.name().to_string(), |b| b.header.clone())
}

/// The dated rows, checked (a start in every row, no end before its start), and the analysis
/// date: `--as-of`, or the day after the latest start or end date.
fn dated_rows(
    table: &Table,
    unit: Unit,
    as_of: Option<Day>,
    settings: &Settings,
) -> Result<(Vec<DatedRow>, Day)> {
    required(table, Role::StartDate)?;
    let display = &table.info.display;
    let ids = table.df.column(Role::CustomerId.name())?.str()?.clone();
    let starts = table
        .df
        .column(Role::StartDate.name())?
        .date()?
        .physical()
        .clone();
    let ends: Option<Int32Chunked> = match table.df.column(Role::EndDate.name()) {
        Ok(c) => Some(c.date()?.physical().clone()),
        Err(_) => None,
    };
    let mut rows = Vec::with_capacity(table.df.height());
    for row in 0..table.df.height() {
        let start = starts.get(row).unwrap_or(0);
        let end = ends.as_ref().and_then(|e| e.get(row));
        if let Some(end) = end.filter(|e| *e < start) {
            bail!(
                "{display}: row {}, column {:?} (end_date): {} is before the subscription's \
                 start {} (column {:?}); expected an end on or after the start",
                table.row_number(row),
                header_of(table, Role::EndDate),
                iso(end),
                iso(start),
                header_of(table, Role::StartDate),
            );
        }
        rows.push(DatedRow {
            index: row,
            id: ids.get(row).unwrap_or("").to_string(),
            start,
            end,
        });
    }
    let latest_start = rows.iter().map(|r| r.start).max().unwrap_or(0);
    let latest = rows
        .iter()
        .map(|r| r.end.unwrap_or(r.start).max(r.start))
        .max()
        .unwrap_or(0);
    let as_of = as_of.unwrap_or(Day::new(latest) + 1);
    // End dates far past the latest start look like scheduled contract ends, not cancellations.
    let period_after = unit.whole_periods(latest_start, latest);
    if period_after >= 1 && ends.is_some() {
        let future = rows
            .iter()
            .filter(|r| {
                r.end
                    .is_some_and(|e| unit.whole_periods(latest_start, e) >= 1)
            })
            .count();
        note(
            &settings.output,
            format!(
                "{display}: {future} end dates fall a {} or more after the latest start ({}); \
                 they count as ended before {}. If they are scheduled contract ends rather than \
                 cancellations, pass --as-of the export's date",
                unit.name(),
                iso(latest_start),
                as_of
            ),
        );
    }
    Ok((rows, as_of))
}
