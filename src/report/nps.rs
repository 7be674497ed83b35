//! The NPS and CSAT section of the report: overall, and by owner when the surveys name owners.

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use super::{table, Analysis, Context, Figure, Headline, Measure, Parts, Section};
use crate::input::schema::{Role, TableKind};
use crate::metrics::nps::{self, NpsGroup, Score, SurveyKind};
use crate::output::charts::Chart;
use crate::output::html;

pub const NPS: Analysis = Analysis {
    step: "NPS and CSAT",
    build,
    kpis: &["nps", "csat"],
};

struct NpsSection {
    overall: DataFrame,
    by_owner: Option<DataFrame>,
    /// Every score: overall (no group) and per owner.
    scores: Vec<Score>,
    nps: Option<Score>,
}

fn build(ctx: &Context) -> Result<Parts> {
    let Some(path) = ctx.surveys else {
        return Ok(Parts::missing("nps", "pass --surveys FILE"));
    };
    let mut surveys = crate::load::table(
        path,
        TableKind::Surveys,
        Some(&[Role::Survey, Role::Owner, Role::ResponseDate]),
        ctx.settings,
    )?;
    // Responses dated on or after the analysis date have not happened yet (docs/metrics.md,
    // "Analysis date"), so a report or check of an earlier as_of does not see them; a target
    // period counts the responses dated in it (undated ones cannot be placed in it).
    let as_of = ctx.ledger.as_of;
    if surveys.has(Role::ResponseDate) {
        let dates = surveys
            .df
            .column(Role::ResponseDate.name())?
            .date()?
            .clone();
        let keep = crate::metrics::nps::counted(&dates, ctx.since, as_of.days());
        let dropped = keep.len() - keep.sum().unwrap_or(0) as usize;
        if dropped > 0 {
            if ctx.since.is_none() {
                crate::output::note(
                    &ctx.settings.output,
                    format!(
                        "{}: {dropped} responses dated on or after the analysis date are left out",
                        surveys.info.display
                    ),
                );
            }
            surveys.df = surveys.df.filter(&keep)?;
        }
    } else if ctx.since.is_some() {
        return Ok(Parts::missing(
            "nps",
            format!(
                "{}: no response date column, so no response can be placed in a period",
                surveys.info.display
            ),
        ));
    }
    let overall = nps::nps(&surveys.df, SurveyKind::Nps, &[], None)?;
    let mut scores = overall.scores.clone();
    let by_owner = if surveys.has(Role::Owner) {
        let per_owner = nps::nps(&surveys.df, SurveyKind::Nps, &[NpsGroup::Owner], None)?;
        scores.extend(per_owner.scores);
        Some(per_owner.table)
    } else {
        None
    };
    Ok(Parts::one(NpsSection {
        nps: overall.overall(SurveyKind::Nps).cloned(),
        scores,
        overall: overall.table,
        by_owner,
    }))
}

impl Section for NpsSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        let mut sheets = vec![("nps", &self.overall)];
        if let Some(b) = &self.by_owner {
            sheets.push(("nps_by_owner", b));
        }
        sheets
    }

    fn measures(&self) -> Vec<Measure> {
        // NPS in points; CSAT as a share 0–1 (targets say 0.90 for 90 %). Overall scores have
        // no group; per-owner ones have the owner as theirs.
        self.scores
            .iter()
            .map(|s| {
                let e = &s.estimate;
                let (kpi, scale) = match s.kind {
                    SurveyKind::Nps => ("nps", 1.0),
                    SurveyKind::Csat => ("csat", 100.0),
                };
                Measure {
                    kpi,
                    owner: s.group.first().cloned(),
                    value: e.value / scale,
                    interval: Some((e.low / scale, e.high / scale)),
                }
            })
            .collect()
    }

    fn headlines(&self) -> Vec<Headline> {
        self.nps
            .iter()
            .map(|s| Headline {
                label: "NPS",
                higher_is_better: Some(true),
                value: Figure::Points(s.estimate.value),
                detail: format!(
                    "95% CI {:.1} to {:.1} points",
                    s.estimate.low, s.estimate.high
                ),
            })
            .collect()
    }

    fn html<'a>(&'a self, _charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        let mut tables = vec![table("", &self.overall, 10)];
        if let Some(b) = &self.by_owner {
            tables.push(table("By owner", b, 100));
        }
        html::Section {
            title: "NPS and CSAT".into(),
            notes: vec!["NPS in points (−100…100): % promoters (9–10) − % detractors (0–6); CSAT: % of 4–5 on 1–5; 95% intervals.".into()],
            charts: vec![],
            tables,
        }
    }
}
