//! The KPI history section of the report (`report --kpi-history FILE`): the rows that
//! `check --history` kept, as a sheet, and a trend chart per KPI of its overall value
//! (docs/metrics.md, "KPI targets").

use crate::day::Day;
use anyhow::{anyhow, Result};
use polars::prelude::*;

use super::{floats, pick, table, texts, Analysis, Context, Parts, Section};
use crate::input::source;
use crate::output::charts::{self, Chart};
use crate::output::html;

pub const HISTORY: Analysis = Analysis {
    step: "KPI history",
    build,
    kpis: &[],
};

struct HistorySection {
    rows: DataFrame,
    /// Per KPI, in order of first appearance.
    trends: Vec<Trend>,
}

/// A KPI's overall value at each as_of, and its latest target.
struct Trend {
    kpi: String,
    dates: Vec<String>,
    values: Vec<f64>,
    target: Option<f64>,
}

fn build(ctx: &Context) -> Result<Parts> {
    // An extra, not an analysis of the data: nothing to say when it is not asked for.
    let Some(path) = ctx.kpi_history else {
        return Ok(Parts::default());
    };
    let opts = &ctx.settings.input.read;
    let raw = source::open(path, opts)?;
    let (rows, info) = raw.read(None, &[], opts)?;
    let want = ["kpi", "group", "value", "target", "as_of"];
    if let Some(missing) = want
        .iter()
        .find(|c| !rows.get_column_names().iter().any(|n| n.as_str() == **c))
    {
        return Err(anyhow!(
            "{}: not a KPI history of crm-eval check (no {missing} column)",
            info.display
        ));
    }
    // A KPI with a period is its own trend ("churn_rate (last full quarter)"); histories
    // written before periods existed have no period column.
    let periods = match rows.column("period") {
        Ok(_) => texts(&rows, "period")?,
        Err(_) => vec![String::new(); rows.height()],
    };
    let kpis: Vec<String> = texts(&rows, "kpi")?
        .into_iter()
        .zip(periods)
        .map(|(k, p)| {
            if p.is_empty() {
                k
            } else {
                format!("{k} ({p})")
            }
        })
        .collect();
    let groups = texts(&rows, "group")?;
    let dates = texts(&rows, "as_of")?;
    let values = floats(&rows, "value")?;
    let targets = floats(&rows, "target")?;
    let mut order: Vec<usize> = (0..rows.height()).collect();
    // By date, then file order: the history is written in date order, but a rerun of an older
    // date lands at the end.
    order.sort_by(|&a, &b| dates[a].cmp(&dates[b]).then(a.cmp(&b)));
    let mut trends: Vec<Trend> = Vec::new();
    for i in order {
        let (Some(v), true) = (values[i], groups[i] == crate::metrics::ALL) else {
            continue;
        };
        let at = match trends.iter().position(|t| t.kpi == kpis[i]) {
            Some(at) => at,
            None => {
                trends.push(Trend {
                    kpi: kpis[i].clone(),
                    dates: Vec::new(),
                    values: Vec::new(),
                    target: None,
                });
                trends.len() - 1
            }
        };
        let t = &mut trends[at];
        t.dates.push(dates[i].clone());
        t.values.push(v);
        t.target = targets[i];
    }
    Ok(Parts::one(HistorySection { rows, trends }))
}

impl Section for HistorySection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![("kpi_history", &self.rows)]
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        self.trends
            .iter()
            .map(|t| {
                charts::trend(
                    &chart_name(&t.kpi),
                    &format!("{} by run (target line in red)", t.kpi),
                    &t.dates,
                    &t.values,
                    t.target,
                )
            })
            .collect()
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        let names: Vec<String> = self.trends.iter().map(|t| chart_name(&t.kpi)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        html::Section {
            title: "KPI history".into(),
            notes: vec![
                "Each KPI as `crm-eval check --history` recorded it, run by run, with its target as a line when it has one.".into(),
            ],
            charts: pick(charts, &names),
            tables: vec![table("Latest rows", &self.rows, 30)],
        }
    }
}

/// `kpi_churn_rate`, `kpi_churn_rate_last_full_quarter`: a file name for the chart.
fn chart_name(trend: &str) -> String {
    let mut name = String::from("kpi_");
    for c in trend.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    name.trim_end_matches('_').to_string()
}
