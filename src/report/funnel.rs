//! The sales funnel section of the report (`--opportunities`, with `--stage-history` and
//! `--teams` when given): the summary by owner, the stage table and the open deals, as of the
//! report's as_of (docs/metrics.md, "Funnel").

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use super::{
    floats, owner_intervals, owner_measures, pct, pick, table, texts, Analysis, Context, Figure,
    Headline, Measure, Parts, Section,
};
use crate::load::funnel::{load_pipeline, FunnelFiles, FunnelOptions};
use crate::metrics::funnel::stages::StageWords;
use crate::metrics::funnel::{self, FunnelGroup};
use crate::metrics::Estimate;
use crate::output::charts::{self, Chart};
use crate::output::html;

pub const FUNNEL: Analysis = Analysis {
    step: "sales funnel",
    build,
    kpis: &["win_rate"],
};

struct FunnelSection {
    by_owner: DataFrame,
    stages: DataFrame,
    open: DataFrame,
    win_rate: Option<Estimate>,
    open_deals: usize,
}

fn build(ctx: &Context) -> Result<Parts> {
    let Some(path) = ctx.opportunities else {
        return Ok(Parts::missing("funnel", "pass --opportunities FILE"));
    };
    let cfg = &ctx.settings.config.funnel;
    let mut pipeline = load_pipeline(
        &FunnelFiles {
            opportunities: path,
            history: ctx.stage_history,
            teams: ctx.teams,
            customers: None,
        },
        &FunnelOptions {
            stages: cfg.stages.clone(),
            words: StageWords::with(&cfg.won, &cfg.lost, &cfg.invalid),
            as_of: Some(ctx.ledger.as_of),
            stage_from_history: false,
        },
        ctx.settings,
    )?;
    // A target period's win rate is of the deals closed in it.
    if let Some(day) = ctx.since {
        pipeline = pipeline.counted_from(day);
    }
    let open = funnel::open_table(&pipeline, cfg.stale_days.unwrap_or(30))?;
    Ok(Parts::one(FunnelSection {
        by_owner: funnel::summary(&pipeline, &[FunnelGroup::Owner])?,
        stages: funnel::stage_table(&pipeline, &[])?,
        open_deals: open.height(),
        open,
        win_rate: funnel::win_rate(&pipeline),
    }))
}

impl Section for FunnelSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![
            ("funnel", &self.by_owner),
            ("funnel_stages", &self.stages),
            ("funnel_open", &self.open),
        ]
    }

    fn measures(&self) -> Vec<Measure> {
        self.win_rate
            .iter()
            .map(|e| Measure::estimate("win_rate", e))
            .chain(owner_measures("win_rate", &self.by_owner, "win_rate").unwrap_or_default())
            .collect()
    }

    fn headlines(&self) -> Vec<Headline> {
        self.win_rate
            .iter()
            .map(|e| Headline {
                label: "Win rate",
                higher_is_better: Some(true),
                value: Figure::Share(e.value),
                detail: format!(
                    "95% CI {} – {}; {} open deals",
                    pct(e.low),
                    pct(e.high),
                    self.open_deals
                ),
            })
            .collect()
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        let mut out = Vec::new();
        // The funnel: opportunities that reached each stage, labelled with the conversion on.
        let stages = texts(&self.stages, "stage")?;
        let reached = floats(&self.stages, "reached")?;
        if reached.iter().all(Option::is_some) && !stages.is_empty() {
            let conversion = floats(&self.stages, "conversion_rate")?;
            let values: Vec<f64> = reached.iter().flatten().copied().collect();
            let labels: Vec<String> = values
                .iter()
                .zip(&conversion)
                .map(|(r, c)| match c {
                    Some(c) => format!("{r:.0} · {} go on", pct(*c)),
                    None => format!("{r:.0}"),
                })
                .collect();
            out.push(charts::bars(
                "funnel_stages",
                "Opportunities that reached each stage",
                "opportunities (label: share that went on to the next stage)",
                &stages,
                &values,
                &labels,
                None,
            )?);
        }
        // Win rate by owner with Wilson intervals.
        out.push(owner_intervals(
            &self.by_owner,
            "win_rate",
            (
                "win_rate_by_owner",
                "Win rate of closed opportunities by owner, with 95% intervals",
                "win rate (won ÷ won + lost)",
            ),
            self.win_rate.map(|e| e.value),
        )?);
        Ok(out)
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "Sales funnel".into(),
            notes: vec![
                "Win rate = won ÷ (won + lost), invalid apart; cycle = closed − created for won deals; the weighted pipeline weights each open deal by the win rate of closed deals that reached its stage.".into(),
            ],
            charts: pick(charts, &["funnel_stages", "win_rate_by_owner"]),
            tables: vec![
                table("By owner", &self.by_owner, 50),
                table("Stages", &self.stages, 20),
                table("Open deals, highest weighted amount first", &self.open, 20),
            ],
        }
    }
}
