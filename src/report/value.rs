//! The value sections of the report: RFM segments and ABC tiers.

use anyhow::Result;
use polars::prelude::*;

use super::{
    floats, pct, pick, table, texts, Analysis, Context, Figure, Headline, Measure, Parts, Section,
};
use crate::day::Day;
use crate::metrics::abc::{self, AbcOptions, TierTotal};
use crate::metrics::rfm::{self, RfmOptions};
use crate::money::Money;
use crate::output::charts::{self, Chart, Heatmap};
use crate::output::html;

pub const RFM: Analysis = Analysis {
    step: "RFM",
    build: rfm_section,
    kpis: &[],
};

pub const ABC: Analysis = Analysis {
    step: "ABC",
    build: abc_section,
    kpis: &["tier_a_revenue_share"],
};

struct RfmSection {
    customers: DataFrame,
    segments: DataFrame,
    /// Net revenue of the customers scored (every order row before as_of).
    revenue: Money,
    as_of: Day,
}

fn rfm_section(ctx: &Context) -> Result<Parts> {
    let opts = RfmOptions::default();
    let result = rfm::rfm(&ctx.ledger, &opts)?;
    let segments = rfm::segment_summary(&result.customers, &opts.segments)?;
    let revenue = ctx
        .ledger
        .buyers()
        .map(|c| ctx.ledger.net(c))
        .sum::<Money>();
    Ok(Parts::one(RfmSection {
        customers: result.customers,
        segments,
        revenue,
        as_of: result.as_of,
    }))
}

impl Section for RfmSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![("segments", &self.segments), ("rfm", &self.customers)]
    }

    fn headlines(&self) -> Vec<Headline> {
        let customers = self.customers.height();
        let revenue = self.revenue.to_f64();
        vec![
            Headline {
                label: "Customers who bought",
                higher_is_better: Some(true),
                value: Figure::Count(customers),
                detail: format!("as of {}", self.as_of),
            },
            Headline {
                label: "Net revenue",
                higher_is_better: Some(true),
                value: Figure::Money(revenue),
                detail: format!(
                    "{} per customer",
                    html::grouped(revenue / customers.max(1) as f64, 2)
                ),
            },
        ]
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        // Customers per R × F score.
        let r = floats(&self.customers, "r_score")?;
        let f = floats(&self.customers, "f_score")?;
        let levels = r.iter().chain(&f).flatten().fold(1.0f64, |m, &v| m.max(v)) as usize;
        let mut grid = vec![vec![0.0f64; levels]; levels];
        for (r, f) in r.iter().zip(&f) {
            if let (Some(r), Some(f)) = (r, f) {
                if *r >= 1.0 && *f >= 1.0 {
                    grid[levels - *r as usize][*f as usize - 1] += 1.0;
                }
            }
        }
        let heatmap = charts::heatmap(&Heatmap {
            name: "rfm_heatmap",
            title: "Customers by recency and frequency score",
            x_desc: "F score (higher = more purchases)",
            y_desc: "R score (higher = more recent)",
            columns: (1..=levels).map(|i| i.to_string()).collect(),
            rows: (1..=levels).rev().map(|i| i.to_string()).collect(),
            values: grid
                .into_iter()
                .map(|row| row.into_iter().map(Some).collect())
                .collect(),
            cell_text: &|v| format!("{v:.0}"),
            scale_max: None,
        })?;
        // Segments by customers, labelled with their share of revenue.
        let names = texts(&self.segments, "segment")?;
        let zero = |v: Vec<Option<f64>>| v.into_iter().map(|v| v.unwrap_or(0.0)).collect();
        let customers: Vec<f64> = zero(floats(&self.segments, "customers")?);
        let share: Vec<f64> = zero(floats(&self.segments, "revenue_share")?);
        let labels: Vec<String> = customers
            .iter()
            .zip(&share)
            .map(|(c, s)| format!("{c:.0} · {} of revenue", pct(*s)))
            .collect();
        // Colour by the segment's place in the built-in order, best (green) to worst (red).
        let known = &crate::metrics::meanings::RFM_SEGMENTS;
        let tones: Vec<Option<f64>> = names
            .iter()
            .map(|n| {
                let rank = known.iter().position(|m| m.name == n.as_str())?;
                Some(rank as f64 / (known.len() - 1) as f64)
            })
            .collect();
        let bars = charts::bars(
            "segments",
            "Customers per RFM segment, best to worst",
            "customers (label: share of revenue)",
            &names,
            &customers,
            &labels,
            Some(&tones),
        )?;
        Ok(vec![heatmap, bars])
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "RFM segments".into(),
            notes: vec![
                "Recency, frequency and monetary scores 1–5 by quintile (5 = best); each segment's meaning and suggested action are in the table below (definitions: docs/metrics.md, \"RFM\").".into(),
            ],
            charts: pick(charts, &["rfm_heatmap", "segments"]),
            tables: vec![table("", &self.segments, 50)],
        }
    }
}

struct AbcSection {
    customers: DataFrame,
    tiers: Vec<TierTotal>,
    tier_table: DataFrame,
    cumulative: Vec<f64>,
    /// The A and B thresholds of cumulative value.
    cut: (f64, f64),
}

fn abc_section(ctx: &Context) -> Result<Parts> {
    let opts = AbcOptions::default();
    let result = abc::abc(&ctx.ledger, &opts)?;
    Ok(Parts::one(AbcSection {
        tier_table: abc::tier_table(&result.tiers)?,
        customers: result.customers,
        tiers: result.tiers,
        cumulative: result.cumulative,
        cut: (opts.a, opts.b),
    }))
}

impl Section for AbcSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![("abc_tiers", &self.tier_table), ("abc", &self.customers)]
    }

    fn measures(&self) -> Vec<Measure> {
        self.tiers
            .iter()
            .filter(|t| t.tier == "A")
            .map(|t| Measure::of("tier_a_revenue_share", t.value_share))
            .collect()
    }

    fn headlines(&self) -> Vec<Headline> {
        self.tiers
            .iter()
            .filter(|t| t.tier == "A")
            .map(|t| Headline {
                label: "Tier A customers",
                higher_is_better: None,
                value: Figure::Share(t.customer_share),
                detail: format!("bring {} of revenue", pct(t.value_share)),
            })
            .collect()
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        // The Pareto curve, at most ~500 points.
        let cum = &self.cumulative;
        let n = cum.len().max(1);
        let step = n.div_ceil(500);
        let mut points = vec![(0.0, 0.0)];
        for (i, v) in cum.iter().enumerate() {
            if (i + 1) % step == 0 || i + 1 == n {
                points.push(((i + 1) as f64 / n as f64, *v));
            }
        }
        let reach = |level: f64| {
            cum.iter()
                .position(|v| *v >= level - 1e-12)
                .map_or(1.0, |i| (i + 1) as f64 / n as f64)
        };
        let (a, b) = self.cut;
        Ok(vec![charts::share_curve(
            "abc_pareto",
            "Pareto curve of customer value (ABC)",
            ("share of customers, highest value first", "share of value"),
            &points,
            &[
                (
                    a,
                    format!("A: top {} of customers bring {}", pct(reach(a)), pct(a)),
                ),
                (b, format!("A+B: top {} bring {}", pct(reach(b)), pct(b))),
            ],
        )?])
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "ABC tiers".into(),
            notes: vec![format!(
                "Customers ranked by net revenue; A = the top customers bringing {} of it, B the next {}, C the rest.",
                pct(self.cut.0),
                pct(self.cut.1 - self.cut.0)
            )],
            charts: pick(charts, &["abc_pareto"]),
            tables: vec![table("", &self.tier_table, 10)],
        }
    }
}
