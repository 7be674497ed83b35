//! The report (`crm-eval report`): every analysis as a [`Section`] that contributes its workbook
//! sheets, its charts, its headline figures and its part of the HTML page. The report is the
//! composition of the sections in [`ANALYSES`] order; adding an analysis is one new file here and
//! one line in that list.
//!
//! Every section reads the one purchase ledger of the run (docs/metrics.md, "Orders and
//! purchases") from the [`Context`], so the report builds it once for all of them.

mod allocation;
mod churn;
mod clv;
mod funnel;
mod history;
mod lifecycle;
mod nps;
mod retention;
mod value;

use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use crate::day::Day;
use crate::input::source::SourceInfo;
use crate::ledger::Ledger;
use crate::metrics::pool::PoolRules;
use crate::output::charts::{self, Chart, Intervals};
use crate::output::column_cells;
use crate::output::html::{self, grouped, Card, Page};
use crate::output::progress::Progress;
use crate::settings::Settings;

/// What the analyses of one report share: the settings, the loaded orders and their ledger, and
/// the optional inputs and options of the command line.
#[derive(Clone)]
pub struct Context<'a> {
    pub settings: &'a Settings,
    /// The orders file (its rows are in the ledger).
    pub orders: &'a SourceInfo,
    pub ledger: Arc<Ledger>,
    /// The IDs of the `--customers` export, when given.
    pub customer_ids: Option<Vec<String>>,
    /// The `--customers` export itself (for the segments of `assign`).
    pub customers: Option<&'a str>,
    pub events: Option<&'a str>,
    pub followups: Option<&'a str>,
    pub surveys: Option<&'a str>,
    pub subscriptions: Option<&'a str>,
    pub opportunities: Option<&'a str>,
    pub stage_history: Option<&'a str>,
    pub teams: Option<&'a str>,
    pub rules: &'a PoolRules,
    /// Conversion and recovery window in days.
    pub window: i32,
    /// The KPI history file of `check --history`, for its trend charts.
    pub kpi_history: Option<&'a str>,
    /// The first day of a target period (`check`, docs/metrics.md "KPI targets"): the KPIs
    /// that count cases count only those from this day to as_of. `None`: every case.
    pub since: Option<i32>,
}

impl Context<'_> {
    /// The same context, with the KPIs that count cases counting only those from `day` on.
    pub fn since(&self, day: i32) -> Self {
        Context {
            since: Some(day),
            ..self.clone()
        }
    }
}

/// A headline value; the page decides how each kind reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Count(usize),
    /// Money, shown in whole units.
    Money(f64),
    /// A share 0–1, shown as a percentage.
    Share(f64),
    /// A score in points (NPS), shown with one decimal.
    Points(f64),
}

impl Figure {
    fn number(self) -> f64 {
        match self {
            Figure::Count(n) => n as f64,
            Figure::Money(v) | Figure::Share(v) | Figure::Points(v) => v,
        }
    }

    fn text(self) -> String {
        match self {
            Figure::Count(n) => grouped(n as f64, 0),
            Figure::Money(v) => grouped(v, 0),
            Figure::Share(v) => pct(v),
            Figure::Points(v) => format!("{v:.1}"),
        }
    }
}

/// One headline figure of the page: what it is, its value and a line of context.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub label: &'static str,
    /// Whether a rise is good news (revenue) or bad (churn); `None` when neither.
    pub higher_is_better: Option<bool>,
    pub value: Figure,
    pub detail: String,
}

impl Headline {
    /// The change from `before` (the same headline at `since`): `▲ 2.1 pts since 2024-10-03
    /// (35.0%)` for shares and scores, `▲ 4.2 % since … (1,234)` for counts and money.
    fn change(&self, before: &Headline, since: Day) -> Option<html::Change> {
        let (now, then) = (self.value.number(), before.value.number());
        if !(now.is_finite() && then.is_finite()) {
            return None;
        }
        let diff = now - then;
        let amount = match self.value {
            Figure::Share(_) => format!("{:.1} pts", diff.abs() * 100.0),
            Figure::Points(_) => format!("{:.1} pts", diff.abs()),
            Figure::Count(_) | Figure::Money(_) if then != 0.0 => {
                format!("{:.1} %", (diff / then).abs() * 100.0)
            }
            Figure::Count(_) | Figure::Money(_) => grouped(diff.abs(), 0),
        };
        let flat = amount.starts_with("0.0 ");
        let arrow = if flat {
            "="
        } else if diff > 0.0 {
            "▲"
        } else {
            "▼"
        };
        Some(html::Change {
            text: format!("{arrow} {amount} since {} ({})", since, before.value.text()),
            good: (!flat)
                .then(|| self.higher_is_better.map(|up| up == (diff > 0.0)))
                .flatten(),
        })
    }
}

/// The headlines of the report as of an earlier date, for the change on each tile.
pub struct Earlier {
    pub as_of: Day,
    pub headlines: Vec<Headline>,
}

/// One KPI as a section measured it (docs/metrics.md, "KPI targets"): the figure `check`
/// compares with a target, with its 95 % interval when the KPI is an estimated rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub kpi: &'static str,
    /// The owner the value is of, for a per-owner target (`by = "owner"`); `None` for all data.
    pub owner: Option<String>,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// The KPIs measured per owner too (a target may say `by = "owner"`).
pub const BY_OWNER_KPIS: &[&str] = &[
    "lead_conversion_rate",
    "recovery_rate",
    "win_rate",
    "nps",
    "csat",
];

impl Measure {
    fn of(kpi: &'static str, value: f64) -> Measure {
        Measure {
            kpi,
            owner: None,
            value,
            interval: None,
        }
    }

    fn estimate(kpi: &'static str, e: &crate::metrics::Estimate) -> Measure {
        Measure {
            kpi,
            owner: None,
            value: e.value,
            interval: Some((e.low, e.high)),
        }
    }
}

/// Per-owner measures of a rate from a table by owner (its `owner`, rate, `ci_low` and `ci_high`
/// columns; the `all` row and owners without a rate left out).
fn owner_measures(kpi: &'static str, df: &DataFrame, rate_column: &str) -> Result<Vec<Measure>> {
    let owners = texts(df, "owner")?;
    let rates = floats(df, rate_column)?;
    let lows = floats(df, "ci_low")?;
    let highs = floats(df, "ci_high")?;
    Ok(owners
        .into_iter()
        .zip(rates)
        .zip(lows.into_iter().zip(highs))
        .filter(|((owner, _), _)| owner != crate::metrics::ALL)
        .filter_map(|((owner, rate), (low, high))| {
            Some(Measure {
                kpi,
                owner: Some(owner),
                value: rate?,
                interval: low.zip(high),
            })
        })
        .collect())
}

/// One analysis in the report.
pub trait Section {
    /// Its workbook sheets, in order: (sheet name, table).
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)>;

    /// Its headline figures, in order.
    fn headlines(&self) -> Vec<Headline> {
        Vec::new()
    }

    /// The KPIs of the catalogue it measures (for `check`).
    fn measures(&self) -> Vec<Measure> {
        Vec::new()
    }

    /// Its charts (drawn only for the HTML page and `--charts`).
    fn charts(&self) -> Result<Vec<Chart>> {
        Ok(Vec::new())
    }

    /// Its part of the page, given the charts it drew.
    fn html<'a>(&'a self, charts: &'a [Chart], as_of: Day) -> html::Section<'a>;
}

/// What one analysis produced: its sections, and the parts it had to leave out with the reason.
#[derive(Default)]
pub struct Parts {
    pub sections: Vec<Box<dyn Section>>,
    pub missing: Vec<(&'static str, String)>,
}

impl Parts {
    fn one(section: impl Section + 'static) -> Parts {
        Parts {
            sections: vec![Box::new(section)],
            missing: Vec::new(),
        }
    }

    fn missing(what: &'static str, why: impl Into<String>) -> Parts {
        Parts {
            sections: Vec::new(),
            missing: vec![(what, why.into())],
        }
    }
}

/// An analysis: what the progress bar says while it runs, and how it is built.
pub struct Analysis {
    pub step: &'static str,
    pub build: fn(&Context) -> Result<Parts>,
    /// The KPIs of the catalogue its sections measure ([`Section::measures`]).
    pub kpis: &'static [&'static str],
}

/// Every KPI the analyses measure (docs/metrics.md, "KPI targets").
pub fn kpi_catalogue() -> impl Iterator<Item = &'static str> {
    ANALYSES.iter().flat_map(|a| a.kpis.iter().copied())
}

/// The analyses of the report, in the order of the sheets, the headline and the page.
pub const ANALYSES: &[Analysis] = &[
    value::RFM,
    value::ABC,
    clv::CLV,
    lifecycle::LIFECYCLE,
    churn::CHURN,
    retention::RETENTION,
    allocation::ALLOCATION,
    funnel::FUNNEL,
    nps::NPS,
    history::HISTORY,
];

/// The built report: every section, and what is not in it and why.
pub struct Report {
    pub as_of: Day,
    pub orders_file: String,
    pub sections: Vec<Box<dyn Section>>,
    pub missing: Vec<(&'static str, String)>,
}

impl Report {
    /// Runs the analyses that `wanted` accepts on the context, one progress step each.
    pub fn build(
        ctx: &Context,
        progress: &Progress,
        wanted: impl Fn(&Analysis) -> bool,
    ) -> Result<Report> {
        let mut report = Report {
            as_of: ctx.ledger.as_of,
            orders_file: ctx.orders.display.clone(),
            sections: Vec::new(),
            missing: Vec::new(),
        };
        for analysis in ANALYSES.iter().filter(|a| wanted(a)) {
            progress.step(analysis.step);
            let watch = crate::diag::Stopwatch::new();
            let parts = (analysis.build)(ctx)?;
            watch.lap(analysis.step);
            report.sections.extend(parts.sections);
            report.missing.extend(parts.missing);
        }
        Ok(report)
    }

    /// Every section's headlines.
    pub fn headlines(&self) -> Vec<Headline> {
        self.sections.iter().flat_map(|s| s.headlines()).collect()
    }

    /// The notes sheet: as_of, every input file, what is not included, and every note the run
    /// said (rows left out and why, what loading decided) — `recorded`, in order.
    pub fn notes(&self, inputs: &[(&str, &str)], recorded: &[String]) -> Result<DataFrame> {
        let mut notes: Vec<(String, String)> = vec![("as_of".into(), self.as_of.to_string())];
        for (flag, path) in inputs {
            notes.push((flag.to_string(), path.to_string()));
        }
        for (what, why) in &self.missing {
            notes.push((what.to_string(), format!("not included: {why}")));
        }
        for n in recorded {
            notes.push(("note".into(), n.clone()));
        }
        Ok(DataFrame::new_infer_height(vec![
            Column::new(
                "item".into(),
                notes.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "value".into(),
                notes.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
            ),
        ])?)
    }

    /// Every section's sheets, in order (after the notes sheet, which the caller adds).
    pub fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        self.sections.iter().flat_map(|s| s.sheets()).collect()
    }

    /// Every section's charts, one list per section.
    pub fn charts(&self) -> Result<Vec<Vec<Chart>>> {
        self.sections.iter().map(|s| s.charts()).collect()
    }

    /// The HTML page: the headline of every section, then the sections with their charts, then
    /// what is not in the report.
    pub fn page<'a>(&'a self, charts: &'a [Vec<Chart>], earlier: Option<&Earlier>) -> Page<'a> {
        let cards = self
            .sections
            .iter()
            .flat_map(|s| s.headlines())
            .map(|h| Card {
                label: h.label.into(),
                value: h.value.text(),
                change: earlier.and_then(|e| {
                    let before = e.headlines.iter().find(|b| b.label == h.label)?;
                    h.change(before, e.as_of)
                }),
                detail: h.detail,
            })
            .collect();
        let mut sections: Vec<html::Section> = self
            .sections
            .iter()
            .zip(charts)
            .map(|(s, c)| s.html(c, self.as_of))
            .collect();
        if !self.missing.is_empty() {
            sections.push(html::Section {
                title: "Not in this report".into(),
                notes: self
                    .missing
                    .iter()
                    .map(|(what, why)| format!("{what}: {why}"))
                    .collect(),
                ..html::Section::default()
            });
        }
        Page {
            title: "CRM report".into(),
            subtitle: format!(
                "{} · as of {} · crm-eval report",
                self.orders_file, self.as_of
            ),
            cards,
            sections,
        }
    }
}

/// A table on the page, at most `max_rows` rows of it.
fn table<'a>(title: &str, df: &'a DataFrame, max_rows: usize) -> html::HtmlTable<'a> {
    html::HtmlTable {
        title: title.into(),
        df,
        max_rows,
    }
}

/// The charts of `names` that were drawn, in that order.
fn pick<'a>(charts: &'a [Chart], names: &[&str]) -> Vec<&'a Chart> {
    names
        .iter()
        .filter_map(|n| charts.iter().find(|c| c.name == *n))
        .collect()
}

/// A column as floats (nulls and non-numbers as None), for the charts drawn from a sheet.
fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// A column as display text.
fn texts(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = df.column(name)?;
    Ok(column_cells(c)?.iter().map(|c| c.text()).collect())
}

/// A chart of a rate per owner with its 95 % interval (the table's `ci_low` and `ci_high`), rows
/// other than `all` that have a rate, highest first, and the overall rate as the reference line.
fn owner_intervals(
    df: &DataFrame,
    rate_column: &str,
    chart: (&'static str, &'static str, &'static str),
    overall: Option<f64>,
) -> Result<Chart> {
    let (name, title, x_desc) = chart;
    let owners = texts(df, "owner")?;
    let rate = floats(df, rate_column)?;
    let lo = floats(df, "ci_low")?;
    let hi = floats(df, "ci_high")?;
    let mut rows: Vec<usize> = (0..owners.len())
        .filter(|&i| owners[i] != crate::metrics::ALL && rate[i].is_some())
        .collect();
    let get = |v: &[Option<f64>], i: usize| v[i].unwrap_or(f64::NAN);
    // Highest rate first (ties by name), so the chart reads as a ranking.
    rows.sort_by(|&a, &b| {
        get(&rate, b)
            .total_cmp(&get(&rate, a))
            .then_with(|| owners[a].cmp(&owners[b]))
    });
    charts::intervals(&Intervals {
        name,
        title,
        x_desc,
        labels: rows.iter().map(|&i| owners[i].clone()).collect(),
        values: rows
            .iter()
            .map(|&i| (get(&rate, i), get(&lo, i), get(&hi, i)))
            .collect(),
        reference: overall
            .filter(|v| v.is_finite())
            .map(|v| (v, format!("all owners: {}", pct(v)))),
    })
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_figure_reads_as_its_unit() {
        assert_eq!(Figure::Count(1_234_567).text(), "1,234,567");
        assert_eq!(Figure::Money(-98_765.5).text(), "-98,766");
        assert_eq!(Figure::Share(0.1234).text(), "12.3%");
        assert_eq!(Figure::Points(-7.25).text(), "-7.2");
    }
}
