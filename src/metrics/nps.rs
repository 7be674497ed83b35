//! NPS and CSAT (docs/metrics.md, "NPS and CSAT"), per group, with 95 % intervals.
//!
//! - NPS (0–10 scale): promoters score 9–10, passives 7–8, detractors 0–6;
//!   NPS = 100 × (promoters − detractors) / responses. Interval: NPS ± 1.96 × 100 × √(v / n) with
//!   v = p + d − (p − d)², the variance of one response's value (+1, 0, −1) under the trinomial
//!   model (p, d the promoter and detractor shares), clipped to [−100, 100].
//! - CSAT (1–5 scale): satisfied score 4–5; CSAT = 100 × satisfied / responses, with the Wilson 95 %
//!   score interval (Wilson 1927), which stays inside [0, 100] and behaves for small groups.
//!
//! A score that is not a whole number on its survey's scale is out of range: it is counted and
//! reported (file row and value), never silently dropped, and left out of the figures.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::GroupKeys;

use super::periods::Period;
use super::stats::{round_to, wilson};
use super::Estimate;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum SurveyKind {
    #[default]
    Nps,
    Csat,
}

impl SurveyKind {
    pub fn name(self) -> &'static str {
        match self {
            SurveyKind::Nps => "nps",
            SurveyKind::Csat => "csat",
        }
    }

    /// The words of each survey kind (compared trimmed and lowercased), written once for the
    /// loader and for the SQL (`crate::sql`).
    pub const WORDS: [(SurveyKind, &'static [&'static str]); 2] = [
        (
            SurveyKind::Nps,
            &[
                "nps",
                "net promoter",
                "net promoter score",
                "推荐",
                "净推荐值",
            ],
        ),
        (
            SurveyKind::Csat,
            &["csat", "satisfaction", "customer satisfaction", "满意度"],
        ),
    ];

    /// The survey a `survey` cell names, if it names one.
    pub fn parse(s: &str) -> Option<SurveyKind> {
        let s = s.trim().to_lowercase();
        Self::WORDS
            .iter()
            .find(|(_, words)| words.contains(&s.as_str()))
            .map(|(kind, _)| *kind)
    }
}

/// Grouping dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpsGroup {
    Owner,
    Month,
    /// The responding customer's customers-file groups ([`GroupKeys`] by survey row), one
    /// column each; a multi-valued cell counts the response in each value.
    Customer,
}

/// One response that was left out, for the report on stderr.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// 0-based data row.
    pub index: usize,
    pub reason: String,
}

/// The score of one group and survey kind, as in a row of the table (unrounded).
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The group values, in the order of `by` (empty without grouping).
    pub group: Vec<String>,
    pub kind: SurveyKind,
    pub responses: u64,
    /// NPS in points (−100…100) or CSAT in percent, with its 95 % interval.
    pub estimate: Estimate,
}

pub struct NpsResult {
    pub table: DataFrame,
    /// The rows of `table`, typed.
    pub scores: Vec<Score>,
    pub rejected: Vec<Rejected>,
}

impl NpsResult {
    /// The ungrouped score of one survey kind, if the surveys have any.
    pub fn overall(&self, kind: SurveyKind) -> Option<&Score> {
        self.scores
            .iter()
            .find(|s| s.kind == kind && s.group.is_empty())
    }
}

/// 95 % interval of NPS in points, from promoter and detractor counts.
pub fn nps_interval(promoters: f64, detractors: f64, n: f64) -> (f64, f64, f64) {
    let (p, d) = (promoters / n, detractors / n);
    let nps = p - d;
    let variance = p + d - nps * nps;
    let half = 1.96 * (variance.max(0.0) / n).sqrt();
    (
        100.0 * nps,
        (100.0 * (nps - half)).max(-100.0),
        (100.0 * (nps + half)).min(100.0),
    )
}

#[derive(Default)]
struct Tally {
    n: f64,
    good: f64,
    neutral: f64,
    bad: f64,
}

/// Scores per group. `surveys` has `score` and optionally `survey`, `owner`, `response_date`;
/// rows without a `survey` column (or with an empty cell) are `default_kind`.
pub fn nps(
    surveys: &DataFrame,
    default_kind: SurveyKind,
    by: &[NpsGroup],
    customer: Option<&GroupKeys>,
) -> Result<NpsResult> {
    let n = surveys.height();
    let text = |name: &str| -> Result<Option<Vec<Option<String>>>> {
        if !surveys
            .get_column_names()
            .iter()
            .any(|c| c.as_str() == name)
        {
            return Ok(None);
        }
        Ok(Some(
            surveys
                .column(name)?
                .str()?
                .iter()
                .map(|s| s.map(str::to_string))
                .collect(),
        ))
    };
    let kinds = text("survey")?;
    let owners = text("owner")?;
    let months: Option<Vec<Option<String>>> = if surveys
        .get_column_names()
        .iter()
        .any(|c| c.as_str() == "response_date")
    {
        Some(
            surveys
                .column("response_date")?
                .date()?
                .physical()
                .iter()
                .map(|d| d.map(|d| Period::Month.label(Period::Month.index(d))))
                .collect(),
        )
    } else {
        None
    };
    let scores: Vec<Option<f64>> = surveys.column("score")?.f64()?.iter().collect();

    let mut rejected = Vec::new();
    // Keys with an `(unknown)` customer group sort after the others.
    let mut tallies: BTreeMap<(bool, Vec<String>, SurveyKind), Tally> = BTreeMap::new();
    for i in 0..n {
        let kind = match kinds.as_ref().and_then(|k| k[i].as_deref()) {
            None => default_kind,
            Some(s) => match SurveyKind::parse(s) {
                Some(k) => k,
                None => {
                    rejected.push(Rejected {
                        index: i,
                        reason: format!("survey {s:?} is neither nps nor csat"),
                    });
                    continue;
                }
            },
        };
        let Some(score) = scores[i] else {
            rejected.push(Rejected {
                index: i,
                reason: "no score".to_string(),
            });
            continue;
        };
        let (lo, hi) = match kind {
            SurveyKind::Nps => (0.0, 10.0),
            SurveyKind::Csat => (1.0, 5.0),
        };
        if score.fract() != 0.0 || score < lo || score > hi {
            rejected.push(Rejected {
                index: i,
                reason: format!("{} score {score} is outside {lo}–{hi}", kind.name()),
            });
            continue;
        }
        // The response's groups: one key, or one per value of a multi-valued customer cell.
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for group in by {
            let values: Vec<Vec<String>> = match group {
                NpsGroup::Owner => vec![vec![owners
                    .as_ref()
                    .and_then(|o| o[i].clone())
                    .unwrap_or_default()]],
                NpsGroup::Month => vec![vec![months
                    .as_ref()
                    .and_then(|m| m[i].clone())
                    .unwrap_or_default()]],
                NpsGroup::Customer => customer.map_or(Vec::new(), |c| c.of[i].clone()),
            };
            keys = keys
                .iter()
                .flat_map(|k| {
                    values.iter().map(move |v| {
                        let mut k = k.clone();
                        k.extend(v.iter().cloned());
                        k
                    })
                })
                .collect();
        }
        for key in keys {
            let unknown = key.iter().any(|k| k == super::UNKNOWN);
            let t = tallies.entry((unknown, key, kind)).or_default();
            t.n += 1.0;
            match kind {
                SurveyKind::Nps if score >= 9.0 => t.good += 1.0,
                SurveyKind::Nps if score >= 7.0 => t.neutral += 1.0,
                SurveyKind::Csat if score >= 4.0 => t.good += 1.0,
                SurveyKind::Csat if score >= 3.0 => t.neutral += 1.0,
                _ => t.bad += 1.0,
            }
        }
    }

    let names: Vec<String> = by
        .iter()
        .flat_map(|g| match g {
            NpsGroup::Owner => vec!["owner".to_string()],
            NpsGroup::Month => vec!["month".to_string()],
            NpsGroup::Customer => customer.map_or(Vec::new(), |c| c.names.clone()),
        })
        .collect();
    let mut group_cols: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    let (mut survey, mut responses, mut good, mut neutral, mut bad) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut score, mut low, mut high) = (Vec::new(), Vec::new(), Vec::new());
    let mut scores = Vec::with_capacity(tallies.len());
    for ((_, key, kind), t) in &tallies {
        for (c, v) in group_cols.iter_mut().zip(key) {
            c.push(v.clone());
        }
        survey.push(kind.name());
        responses.push(t.n as i64);
        good.push(t.good as i64);
        neutral.push(t.neutral as i64);
        bad.push(t.bad as i64);
        let (s, l, h) = match kind {
            SurveyKind::Nps => nps_interval(t.good, t.bad, t.n),
            SurveyKind::Csat => wilson(t.good, t.n),
        };
        score.push(round_to(s, 2));
        low.push(round_to(l, 2));
        high.push(round_to(h, 2));
        scores.push(Score {
            group: key.clone(),
            kind: *kind,
            responses: t.n as u64,
            estimate: (s, l, h).into(),
        });
    }
    let mut columns: Vec<Column> = names
        .iter()
        .zip(group_cols)
        .map(|(name, values)| Column::new(name.as_str().into(), values))
        .collect();
    columns.extend([
        Column::new("survey".into(), survey),
        Column::new("responses".into(), responses),
        Column::new("favourable".into(), good),
        Column::new("neutral".into(), neutral),
        Column::new("unfavourable".into(), bad),
        Column::new("score".into(), score),
        Column::new("score_low".into(), low),
        Column::new("score_high".into(), high),
    ]);
    Ok(NpsResult {
        table: DataFrame::new_infer_height(columns)?,
        scores,
        rejected,
    })
}

/// Whether a run counts each response: dated before `to` (the analysis date) and, over a range
/// (docs/metrics.md, "Periods"), on or after `from`; an undated response cannot be placed, so it
/// counts only without a range.
pub fn counted(dates: &DateChunked, from: Option<i32>, to: i32) -> BooleanChunked {
    dates
        .physical()
        .iter()
        .map(|d| match (d, from) {
            (Some(d), Some(from)) => from <= d && d < to,
            (Some(d), None) => d < to,
            (None, from) => from.is_none(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        // 50 promoters, 30 passives, 20 detractors: NPS 30; v = 0.7 − 0.09 = 0.61,
        // half-width 1.96 × √(0.61 / 100) = 0.1531 → [14.69, 45.31].
        let (s, l, h) = nps_interval(50.0, 20.0, 100.0);
        assert!(
            (s - 30.0).abs() < 1e-9 && (l - 14.692).abs() < 0.01 && (h - 45.308).abs() < 0.01,
            "{l} {h}"
        );
        // Wilson for 8 of 10: [49.02 %, 94.33 %] (textbook value).
        let (p, l, h) = wilson(8.0, 10.0);
        assert!(
            (p - 80.0).abs() < 1e-9 && (l - 49.02).abs() < 0.01 && (h - 94.33).abs() < 0.01,
            "{l} {h}"
        );
    }
}
