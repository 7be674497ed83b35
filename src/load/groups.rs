//! `--by COLUMN[,COLUMN]`: customer dimensions from a customers file (docs/metrics.md,
//! "Groups"). A column is named by its role (region, industry, source, stage, owner) or by its
//! header; each customer belongs to the group of its values, a multi-valued cell (`a;b`) to
//! each of its values, and a customer missing from the file (or with an empty cell) to
//! `(unknown)`. Summaries are then computed over each group's customers, and over all of them.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::error::usage;
use crate::input::schema::{self, normalise_header, Role, TableKind};
use crate::input::{coerce_binding, resolve_or_explain, source};
use crate::output::note;
use crate::settings::Settings;

pub use crate::metrics::{ALL, UNKNOWN};

/// Group keys per customer ID, for the `--by` columns.
pub struct CustomerGroups {
    /// The `--by` names, as the output's first columns.
    pub names: Vec<String>,
    keys: HashMap<String, Vec<Vec<String>>>,
    file: String,
}

/// `--customers FILE --by COLUMN[,COLUMN]`, for the commands whose summary takes nothing but
/// customers-file groups.
#[derive(Debug, clap::Args)]
pub struct ByArgs {
    /// Customers export, for --by.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// One table per group of these customers-file columns (role or header, e.g.
    /// region,industry; a `a;b` cell counts in both), then `all` (needs --customers; `--by
    /// owner` alone groups by the current owner, docs/metrics.md "Current owner", and needs none).
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    pub by: Option<String>,
}

impl ByArgs {
    /// The groups asked for, if any. `owners` gives `--by owner` (alone) the current owner of
    /// each customer of `table`; without it, `--by` needs `--customers`.
    pub fn load(
        &self,
        owners: Option<(&super::owners::CustomerColumns, &DataFrame)>,
        settings: &Settings,
    ) -> Result<Option<CustomerGroups>> {
        let Some(by) = &self.by else {
            return Ok(None);
        };
        let names = parse_by(by)?;
        match (owners, &self.customers) {
            (Some((owners, table)), _) if names == [super::owners::OWNER] => {
                let ids = table.column("customer_id")?.str()?.clone();
                Ok(Some(owners.owner_groups(ids.iter().flatten())))
            }
            (_, Some(path)) => Ok(Some(CustomerGroups::load(path, &names, settings)?)),
            (_, None) => Err(usage(format!(
                "--by {by}: customers-file columns need --customers FILE{}",
                if owners.is_some() {
                    " (--by owner alone needs none)"
                } else {
                    ""
                }
            ))),
        }
    }
}

/// Splits a `--by` list: `region,industry`.
pub fn parse_by(by: &str) -> Result<Vec<String>> {
    let names: Vec<String> = by
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(usage(format!("--by {by:?}: expected COLUMN[,COLUMN]")));
    }
    Ok(names)
}

/// Splits a `--by` list into a command's own groups (`own` recognises them) and customers-file
/// columns, which take the place of `customer` in the list, side by side where the first of
/// them is named. Columns need `--customers`: a usage error names `own_names` otherwise.
pub fn split_by<G: Copy>(
    by: &str,
    own: impl Fn(&str) -> Option<G>,
    customer: G,
    has_customers: bool,
    own_names: &str,
) -> Result<(Vec<G>, Vec<String>)> {
    let mut groups = Vec::new();
    let mut columns = Vec::new();
    for name in parse_by(by)? {
        match own(&name) {
            Some(g) => groups.push(g),
            None => {
                if columns.is_empty() {
                    groups.push(customer);
                }
                columns.push(name);
            }
        }
    }
    if !columns.is_empty() && !has_customers {
        return Err(usage(format!(
            "--by {}: a customers-file column needs --customers FILE (or use {own_names})",
            columns.join(",")
        )));
    }
    Ok((groups, columns))
}

impl CustomerGroups {
    /// Reads the `--by` columns of a customers export.
    pub fn load(path: &str, by: &[String], settings: &Settings) -> Result<CustomerGroups> {
        Ok(Self::load_with(path, by, true, settings)?.0)
    }

    /// [`CustomerGroups::load`]; unless `required`, a column the file lacks is `(unknown)` for
    /// every customer and is named in the second list.
    pub fn load_with(
        path: &str,
        by: &[String],
        required: bool,
        settings: &Settings,
    ) -> Result<(CustomerGroups, Vec<String>)> {
        let wanted: Vec<(&str, bool)> = by.iter().map(|n| (n.as_str(), required)).collect();
        let read = read_customer_columns(path, &wanted, "--by", settings)?;
        let ids = read.ids;
        let missing: Vec<String> = by
            .iter()
            .zip(&read.columns)
            .filter(|(_, c)| c.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        let unknown = StringChunked::full_null("".into(), ids.len());
        let columns: Vec<StringChunked> = read
            .columns
            .into_iter()
            .map(|c| c.unwrap_or_else(|| unknown.clone()))
            .collect();
        let info = read.info;
        let mut keys: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for (row, id) in ids.iter().enumerate() {
            let Some(id) = id.filter(|s| !s.is_empty()) else {
                continue;
            };
            let values: Vec<Vec<String>> = columns
                .iter()
                .map(|c| split_values(c.get(row).unwrap_or("")))
                .collect();
            // One key per combination of the values of a multi-valued cell.
            let mut combos: Vec<Vec<String>> = vec![Vec::new()];
            for vs in &values {
                combos = combos
                    .iter()
                    .flat_map(|c| {
                        vs.iter().map(move |v| {
                            let mut k = c.clone();
                            k.push(v.clone());
                            k
                        })
                    })
                    .collect();
            }
            let entry = keys.entry(id.to_string()).or_default();
            for c in combos {
                if !entry.contains(&c) {
                    entry.push(c);
                }
            }
        }
        Ok((
            CustomerGroups {
                names: by.to_vec(),
                keys,
                file: info.display,
            },
            missing,
        ))
    }

    /// One group column from a value per customer (e.g. the current owner of each), an empty
    /// value being `(unknown)`; `described` says where the values came from in notes.
    pub fn from_values(
        name: &str,
        values: impl IntoIterator<Item = (String, String)>,
        described: &str,
    ) -> CustomerGroups {
        let keys = values
            .into_iter()
            .map(|(id, v)| (id, vec![split_values(&v)]))
            .map(|(id, vs)| (id, vs[0].iter().map(|v| vec![v.clone()]).collect()))
            .collect();
        CustomerGroups {
            names: vec![name.to_string()],
            keys,
            file: described.to_string(),
        }
    }

    /// The customers of the file, in byte order.
    pub fn customers(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// Whether the customer is in the file.
    pub fn contains(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    /// The group keys of a customer: `(unknown)` for each column when it is not in the file.
    pub fn of(&self, id: &str) -> Vec<Vec<String>> {
        match self.keys.get(id) {
            Some(k) => k.clone(),
            None => vec![vec![UNKNOWN.to_string(); self.names.len()]],
        }
    }

    /// A summary per group of the per-customer table `customers` (its `customer_id` column
    /// names the customer), then over all customers, each prefixed by the `--by` columns. Groups
    /// are in byte order with `(unknown)` after the others; the `all` row comes last.
    pub fn summarise(
        &self,
        customers: &DataFrame,
        settings: &Settings,
        summary: impl Fn(&DataFrame) -> Result<DataFrame>,
    ) -> Result<DataFrame> {
        let ids = customers.column("customer_id")?.str()?.clone();
        let ids: Vec<&str> = ids.iter().map(|id| id.unwrap_or("")).collect();
        self.stack(&ids, settings, |rows| {
            let mut mask = vec![false; ids.len()];
            for &r in rows {
                mask[r] = true;
            }
            summary(&customers.filter(&BooleanChunked::from_slice("m".into(), &mask))?)
        })
    }

    /// A table per group of the ledger's customers with purchases (`table` of their codes), then
    /// of all of them, prefixed and stacked as in [`CustomerGroups::summarise`].
    pub fn summarise_codes(
        &self,
        ledger: &crate::ledger::Ledger,
        settings: &Settings,
        table: impl Fn(&[usize]) -> Result<DataFrame>,
    ) -> Result<DataFrame> {
        let codes: Vec<usize> = ledger.buyers().collect();
        let ids: Vec<&str> = codes.iter().map(|&c| ledger.id(c)).collect();
        self.stack(&ids, settings, |rows| {
            table(&rows.iter().map(|&r| codes[r]).collect::<Vec<_>>())
        })
    }

    /// `table` of the positions of `ids` in each group (byte order, `(unknown)` after the
    /// others), then of all of them, each prefixed by the group's values and stacked; the
    /// customers missing from the file are counted on stderr.
    fn stack(
        &self,
        ids: &[&str],
        settings: &Settings,
        table: impl Fn(&[usize]) -> Result<DataFrame>,
    ) -> Result<DataFrame> {
        let mut members: BTreeMap<(bool, Vec<String>), Vec<usize>> = BTreeMap::new();
        let mut unknown = 0usize;
        for (row, id) in ids.iter().enumerate() {
            if !self.contains(id) {
                unknown += 1;
            }
            for key in self.of(id) {
                let is_unknown = key.iter().any(|k| k == UNKNOWN);
                members.entry((is_unknown, key)).or_default().push(row);
            }
        }
        if unknown > 0 {
            note(
                &settings.output,
                format!(
                    "{unknown} customers are not in {} and are grouped as {UNKNOWN}",
                    self.file
                ),
            );
        }
        let all: Vec<usize> = (0..ids.len()).collect();
        let all_key = vec![ALL.to_string(); self.names.len()];
        let mut out: Option<DataFrame> = None;
        for (key, rows) in members
            .iter()
            .map(|((_, k), r)| (k, r.as_slice()))
            .chain(std::iter::once((&all_key, all.as_slice())))
        {
            let part = self.prefixed(table(rows)?, key)?;
            match &mut out {
                None => out = Some(part),
                Some(df) => {
                    df.vstack_mut(&part)?;
                }
            }
        }
        Ok(out.unwrap_or_default())
    }

    /// The group keys of every customer of an interner, by its index (for the ownership
    /// analyses; their loader says how many customers the customers file lacks).
    pub fn by_index(
        &self,
        customers: &crate::metrics::ownership::Interner,
    ) -> crate::metrics::GroupKeys {
        crate::metrics::GroupKeys {
            names: self.names.clone(),
            of: customers.names.iter().map(|id| self.of(id)).collect(),
        }
    }

    fn prefixed(&self, mut df: DataFrame, key: &[String]) -> Result<DataFrame> {
        let height = df.height();
        for (i, (name, value)) in self.names.iter().zip(key).enumerate() {
            let col = Column::new(name.as_str().into(), vec![value.as_str(); height]);
            df.insert_column(i, col)?;
        }
        Ok(df)
    }
}

/// The customer IDs and some columns of a customers export, row by row.
pub struct CustomerColumns {
    pub ids: StringChunked,
    /// One per name asked for; None for an optional column the file does not have.
    pub columns: Vec<Option<StringChunked>>,
    pub info: source::SourceInfo,
}

/// Reads the customer ID and the columns `wanted` of a customers export: each named by its role
/// (region, industry, source, stage, owner) or by its header, and required or not. A required
/// column the file lacks is a usage error naming `flag` and the headers there are.
pub fn read_customer_columns(
    path: &str,
    wanted: &[(&str, bool)],
    flag: &str,
    settings: &Settings,
) -> Result<CustomerColumns> {
    let opts = &settings.input;
    let raw = source::open(path, &opts.read)?;
    let bindings = resolve_or_explain(TableKind::Customers, &raw.headers, opts, &raw.info)?;
    let (partial, _) = schema::resolve_partial(TableKind::Customers, &raw.headers, &opts.mappings)
        .unwrap_or_default();
    let id = bindings
        .iter()
        .find(|b| b.role == Role::CustomerId)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{}: no customer_id column", raw.info.display))?;
    let mut headers: Vec<Option<String>> = Vec::new();
    for &(name, required) in wanted {
        let by_role = Role::from_name(name)
            .and_then(|r| partial.iter().find(|b| b.role == r))
            .map(|b| b.header.clone());
        let by_header = raw
            .headers
            .iter()
            .find(|h| normalise_header(h) == normalise_header(name))
            .cloned();
        match by_role.or(by_header) {
            Some(h) => headers.push(Some(h)),
            None if !required => headers.push(None),
            None => bail!(usage(format!(
                "{flag} {name}: {} has no such column (headers: {})",
                raw.info.display,
                raw.headers.join(", ")
            ))),
        }
    }
    let mut names = vec![id.header.clone()];
    names.extend(headers.iter().flatten().cloned());
    let (frame, info) = raw.read(Some(&names), &[], &opts.read)?;
    let ids = coerce_binding(&frame, &id, &opts.values, &info)?.column;
    let ids = ids.str()?.clone();
    let columns = headers
        .iter()
        .map(|h| -> Result<Option<StringChunked>> {
            match h {
                Some(h) => Ok(Some(
                    frame.column(h)?.cast(&DataType::String)?.str()?.clone(),
                )),
                None => Ok(None),
            }
        })
        .collect::<Result<_>>()?;
    Ok(CustomerColumns { ids, columns, info })
}

/// The values of a cell: split on `;` (or `；`), trimmed; an empty cell, or one holding only a
/// placeholder (`NaN`, `null`, `N/A`: [`crate::input::values::group_value`]), is `(unknown)`.
fn split_values(cell: &str) -> Vec<String> {
    if crate::input::values::group_value(cell).is_none() {
        return vec![UNKNOWN.to_string()];
    }
    let mut values: Vec<String> = cell
        .split([';', '；'])
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    values.dedup();
    if values.is_empty() {
        values.push(UNKNOWN.to_string());
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_valued_cells_split_and_empty_ones_are_unknown() {
        assert_eq!(split_values("vip; new；vip"), ["vip", "new", "vip"]);
        assert_eq!(split_values("  "), [UNKNOWN]);
        assert_eq!(split_values(" NaN"), [UNKNOWN]);
        assert_eq!(split_values("null"), [UNKNOWN]);
        assert_eq!(split_values("n/a; vip"), ["n/a", "vip"]);
        assert_eq!(
            parse_by("region, industry").unwrap(),
            ["region", "industry"]
        );
        assert!(parse_by(" , ").is_err());
    }
}
