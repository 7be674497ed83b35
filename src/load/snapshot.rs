//! A labelled snapshot as features (docs/metrics.md, "Snapshot models"): one row per customer or
//! lead, an outcome column, an optional ID, and every other column a feature, read through the
//! shared input layer (any encoding, delimiter, xlsx or Parquet).

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::error::usage;
use crate::input::schema::{normalise_header, Role};
use crate::input::source;
use crate::input::values::{parse_flag, parse_money, FLAG_WORDS};
use crate::metrics::predict::snapshot::{is_placeholder, FeatureColumn, Values};
use crate::output::note;
use crate::settings::Settings;

/// What the outcome is: a churned customer or a converted lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Churn,
    Lead,
}

impl Outcome {
    /// Outcome headers tried in order when `--label` is not given (normalised).
    fn synonyms(self) -> Vec<&'static str> {
        match self {
            Outcome::Churn => Role::Churned.synonyms().to_vec(),
            Outcome::Lead => vec![
                "converted",
                "isconverted",
                "conversion",
                "won",
                "iswon",
                "是否转化",
                "已转化",
                "是否成交",
                "成交",
            ],
        }
    }
}

/// The `--label`, `--id`, `--exclude` and `--folds` flags of a snapshot model.
#[derive(Debug, Clone, clap::Args)]
pub struct SnapshotArgs {
    /// The outcome column (yes/no, 1/0, true/false, 是/否; an empty cell is a row to score):
    /// default a churn column (churn, churned, 是否流失 …) or for leads converted, 是否转化 ….
    #[arg(long, value_name = "COLUMN")]
    pub label: Option<String>,

    /// The ID column (default: a customer or lead ID header such as customerID or Prospect ID;
    /// else rows are named by their row number).
    #[arg(long, value_name = "COLUMN")]
    pub id: Option<String>,

    /// Columns not to learn from, e.g. ones written after the outcome was known (X Education's
    /// Tags and Lead Quality): COLUMN,COLUMN.
    #[arg(long, value_name = "COLUMN,...", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// Folds of the cross-validation (2–20).
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub folds: usize,
}

/// A snapshot read: row IDs, the outcome of each row (None: unlabelled), the feature columns.
pub struct Snapshot {
    pub display: String,
    pub ids: Vec<String>,
    pub label: Vec<Option<bool>>,
    pub label_header: String,
    pub columns: Vec<FeatureColumn>,
}

fn find<'a>(headers: &'a [String], wanted: &str) -> Option<&'a String> {
    let n = normalise_header(wanted);
    headers.iter().find(|h| normalise_header(h) == n)
}

/// Reads a snapshot file.
pub fn load(
    path: &str,
    outcome: Outcome,
    args: &SnapshotArgs,
    settings: &Settings,
) -> Result<Snapshot> {
    let opts = &settings.input;
    let raw = source::open(path, &opts.read)?;
    let display = raw.info.display.clone();
    let headers = raw.headers.clone();
    let named = |flag: &str, name: &str| -> Result<String> {
        find(&headers, name).cloned().ok_or_else(|| {
            usage(format!(
                "{flag} {name}: {display} has no such column (headers: {})",
                headers.join(", ")
            ))
        })
    };
    let label_header = match &args.label {
        Some(l) => named("--label", l)?,
        None => outcome
            .synonyms()
            .iter()
            .find_map(|s| find(&headers, s))
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{display}: no outcome column ({}); name it with --label COLUMN (headers: {})",
                    match outcome {
                        Outcome::Churn => "churn, churned, 是否流失, …",
                        Outcome::Lead => "converted, 是否转化, …",
                    },
                    headers.join(", ")
                )
            })?,
    };
    let id_header = match &args.id {
        Some(i) => Some(named("--id", i)?),
        None => Role::CustomerId
            .synonyms()
            .iter()
            .take_while(|s| **s != "customer")
            .chain(["prospectid", "leadid", "leadnumber", "线索id", "线索编号"].iter())
            .find_map(|s| find(&headers, s))
            .cloned(),
    };
    let mut excluded: Vec<String> = Vec::new();
    for e in &args.exclude {
        excluded.push(named("--exclude", e)?);
    }
    let (frame, info) = raw.read(None, &[], &opts.read)?;
    let n = frame.height();
    if n == 0 {
        bail!("{display}: no rows after the header");
    }
    let text = |h: &str| -> Result<StringChunked> {
        Ok(frame.column(h)?.cast(&DataType::String)?.str()?.clone())
    };
    let labels = text(&label_header)?;
    let mut label = Vec::with_capacity(n);
    for (i, cell) in labels.iter().enumerate() {
        let cell = cell.unwrap_or("");
        if is_placeholder(cell) {
            label.push(None);
            continue;
        }
        match parse_flag(cell) {
            Some(v) => label.push(Some(v)),
            None => bail!(
                "{display}: row {}, column {label_header:?} (the outcome): {cell:?} is not yes or \
                 no; expected {FLAG_WORDS} (or an empty cell for a row to score)",
                info.row_number(i)
            ),
        }
    }
    let ids: Vec<String> = match &id_header {
        Some(h) => text(h)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map_or_else(|| format!("row {}", info.row_number(i)), String::from)
            })
            .collect(),
        None => (0..n)
            .map(|i| format!("row {}", info.row_number(i)))
            .collect(),
    };
    let mut columns = Vec::new();
    let mut left_out: Vec<String> = Vec::new();
    for h in &headers {
        if *h == label_header || Some(h) == id_header.as_ref() || excluded.contains(h) {
            continue;
        }
        let cells = text(h)?;
        let cells: Vec<Option<&str>> = cells
            .iter()
            .map(|c| c.map(str::trim).filter(|c| !is_placeholder(c)))
            .collect();
        let present = cells.iter().flatten().count();
        let numbers: Option<Vec<Option<f64>>> = cells
            .iter()
            .map(|c| match c {
                None => Some(None),
                Some(c) => parse_money(c, opts.values.decimal_comma).map(Some),
            })
            .collect();
        let mut distinct: Vec<&str> = cells.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let name = if h.trim().is_empty() {
            "(no header)".to_string()
        } else {
            h.clone()
        };
        let why = if present == 0 {
            Some("empty")
        } else if distinct.len() == 1 {
            Some("one value")
        } else if distinct.len() == present
            && present > 20
            && numbers
                .as_ref()
                .is_none_or(|v| v.iter().flatten().all(|x| x.fract() == 0.0))
        {
            Some("a different value in every row: an identifier")
        } else {
            None
        };
        if let Some(why) = why {
            left_out.push(format!("{name} ({why})"));
            continue;
        }
        let values = match numbers {
            Some(v) => Values::Numbers(v),
            None => Values::Words(cells.iter().map(|c| c.map(String::from)).collect()),
        };
        columns.push(FeatureColumn { name, values });
    }
    if !left_out.is_empty() {
        note(
            &settings.output,
            format!(
                "{display}: columns not learnt from: {}",
                left_out.join(", ")
            ),
        );
    }
    if columns.is_empty() {
        bail!("{display}: no column to learn from besides the outcome and the ID");
    }
    Ok(Snapshot {
        display,
        ids,
        label,
        label_header,
        columns,
    })
}
