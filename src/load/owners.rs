//! The `owner` column (and `--columns` from the customers file) of every per-customer table:
//! reads the sources of docs/metrics.md "Current owner" and attaches the columns after
//! `customer_id`. The rule itself is [`crate::metrics::owner`].

use crate::day::Day;
use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::ledger::Ledger;
use crate::load::groups::{parse_by, read_customer_columns, CustomerGroups};
use crate::metrics::owner::{Listing, OwnerSources};
use crate::metrics::ownership::{self, Interner, NONE};
use crate::output::note;
use crate::settings::Settings;

/// The name of the owner column and of the `--by` group that uses the rule.
pub const OWNER: &str = "owner";

/// The flags of every per-customer list: `--events FILE` and `--columns COLUMN,…` for the
/// owner and the customers-file columns (`--customers` is the command's own flag), `--top N`.
#[derive(Debug, Default, clap::Args)]
pub struct ListArgs {
    /// Ownership event log: a customer's owner is the one holding it at as_of (docs/metrics.md
    /// "Current owner"; the customers file's owner column, when given, comes first).
    #[arg(long, value_name = "FILE")]
    pub events: Option<String>,

    /// Customers-file columns to print after the owner, e.g. region,industry (needs --customers).
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    pub columns: Option<String>,

    /// Only the first N customers of the list, in its order.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
}

/// The owner of every customer by the one rule, and the `--columns` asked for.
#[derive(Debug, Default)]
pub struct CustomerColumns {
    /// Off for a run that prints no owner (a summary not grouped by owner): nothing is read.
    off: bool,
    sources: OwnerSources,
    /// `--columns`: name and the cell of each customer (first row of a customer listed twice).
    extra: Vec<(String, HashMap<String, String>)>,
    /// `--top`.
    top: Option<usize>,
}

impl CustomerColumns {
    /// The columns of a run whose output shows owners when `shown` (a per-customer list, or a
    /// summary by owner); otherwise nothing is read for them: no owner column of the orders,
    /// no second reading of the customers file, no event log.
    pub fn shown(shown: bool) -> CustomerColumns {
        CustomerColumns {
            off: !shown,
            ..CustomerColumns::default()
        }
    }

    /// The optional order roles the run reads for the owners: the orders' owner column.
    pub fn order_roles(&self) -> &'static [Role] {
        if self.off {
            &[]
        } else {
            &[Role::Owner]
        }
    }

    /// Reads the customers file's owner and `--columns` and, with `--events`, who holds each
    /// customer at `as_of`. The purchases' owners come from the ledger ([`Self::add_purchases`]),
    /// which may be added before or after.
    pub fn load_files(
        &mut self,
        customers: Option<&str>,
        args: &ListArgs,
        as_of: Day,
        settings: &Settings,
    ) -> Result<()> {
        let out = self;
        if args.top == Some(0) {
            return Err(usage("--top 0: expected 1 or more rows"));
        }
        out.top = args.top;
        if out.off {
            return Ok(());
        }
        let names = match &args.columns {
            Some(list) => parse_by(list)
                .map_err(|_| usage(format!("--columns {list:?}: expected COLUMN[,COLUMN]")))?,
            None => Vec::new(),
        };
        if !names.is_empty() && customers.is_none() {
            return Err(usage(format!(
                "--columns {}: customers-file columns need --customers FILE",
                names.join(",")
            )));
        }
        if let Some(path) = customers {
            let mut wanted: Vec<(&str, bool)> = vec![(OWNER, false)];
            wanted.extend(names.iter().map(|n| (n.as_str(), true)));
            let read = read_customer_columns(path, &wanted, "--columns", settings)?;
            let cell = |column: &StringChunked, row: usize| {
                column.get(row).map(str::trim).unwrap_or("").to_string()
            };
            let mut owners: Listing = HashMap::new();
            let mut extra: Vec<HashMap<String, String>> = vec![HashMap::new(); names.len()];
            for (row, id) in read.ids.iter().enumerate() {
                let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
                    continue;
                };
                if let Some(Some(column)) = read.columns.first() {
                    owners
                        .entry(id.to_string())
                        .or_insert_with(|| Some(cell(column, row)).filter(|o| !o.is_empty()));
                }
                for (values, column) in extra.iter_mut().zip(read.columns.iter().skip(1)) {
                    if let Some(column) = column {
                        values
                            .entry(id.to_string())
                            .or_insert_with(|| cell(column, row));
                    }
                }
            }
            if matches!(read.columns.first(), Some(Some(_))) {
                out.sources.customers_file = Some(owners);
            }
            out.extra = names.into_iter().zip(extra).collect();
        }
        if let Some(path) = &args.events {
            out.sources.events = Some(holders_at(path, as_of, settings)?);
        }
        Ok(())
    }

    /// Adds the owner of each buyer's latest purchase (the third source), when the orders have
    /// an owner column.
    pub fn add_purchases(&mut self, ledger: &Ledger) {
        if !self.off && ledger.has_owner() {
            self.sources.add_purchases(ledger);
        }
    }

    /// Adds latest-purchase owners gathered elsewhere (the partitions of a bounded-memory run).
    pub fn add_purchase_owners(&mut self, owners: Vec<(String, Option<String>)>) {
        if !self.off && !owners.is_empty() {
            let listing = self.sources.purchases.get_or_insert_with(HashMap::new);
            listing.extend(owners);
        }
    }

    /// The first `--top` rows of a per-customer list (all without it).
    pub fn top(&self, table: DataFrame) -> DataFrame {
        match self.top {
            Some(n) => table.head(Some(n)),
            None => table,
        }
    }

    /// The current owner of a customer ("" for nobody).
    pub fn owner(&self, customer: &str) -> &str {
        self.sources.current(customer)
    }

    /// Whether any source names owners (the tables then have an `owner` column).
    pub fn has_owner(&self) -> bool {
        self.sources.any()
    }

    /// `table` with `owner` (when any source has one) and the `--columns` inserted after its
    /// `customer_id` column, in that order.
    pub fn attach(&self, mut table: DataFrame) -> Result<DataFrame> {
        if !self.has_owner() && self.extra.is_empty() {
            return Ok(table);
        }
        let ids = table.column("customer_id")?.str()?.clone();
        let mut at = 1 + table
            .get_column_names()
            .iter()
            .position(|c| c.as_str() == "customer_id")
            .unwrap_or(0);
        if self.has_owner() {
            let owners: Vec<&str> = ids.iter().map(|id| self.owner(id.unwrap_or(""))).collect();
            table.insert_column(at, Column::new(OWNER.into(), owners))?;
            at += 1;
        }
        for (name, values) in &self.extra {
            let cells: Vec<&str> = ids
                .iter()
                .map(|id| values.get(id.unwrap_or("")).map_or("", String::as_str))
                .collect();
            table.insert_column(at, Column::new(name.as_str().into(), cells))?;
            at += 1;
        }
        Ok(table)
    }

    /// The `--by owner` groups: each customer of `ids` by its current owner, `(unknown)` for
    /// nobody.
    pub fn owner_groups<'a>(&self, ids: impl Iterator<Item = &'a str>) -> CustomerGroups {
        CustomerGroups::from_values(
            OWNER,
            ids.map(|id| (id.to_string(), self.owner(id).to_string())),
            "the owner rule's sources",
        )
    }
}

/// Who holds each customer of an events export at `as_of`: the owner of the spell open then, or
/// nobody when its latest event before as_of returned it to the pool.
fn holders_at(path: &str, as_of: Day, settings: &Settings) -> Result<Listing> {
    let table = crate::load::table(path, TableKind::Events, Some(&[Role::Owner]), settings)?;
    let mut strings = Interner::default();
    let mut customers = Interner::default();
    let (events, issues) =
        ownership::events_from_frame(&table.df, &mut strings, &mut customers, as_of.start_ms())
            .map_err(|e| anyhow::anyhow!("{}: {e}", table.info.display))?;
    let mut listing: Listing = events
        .iter()
        .map(|e| (customers.name(e.customer).to_string(), None))
        .collect();
    let own = ownership::build(events, issues);
    for line in own.issues.lines(&table.info.display) {
        note(&settings.output, line);
    }
    for spell in own.spells.iter().filter(|s| s.end_ms.is_none()) {
        let owner = (spell.owner != NONE).then(|| strings.name(spell.owner).to_string());
        listing.insert(customers.name(spell.customer).to_string(), owner);
    }
    Ok(listing)
}
