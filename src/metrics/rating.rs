//! Customer rating (客户评级): a weighted score over normalised criteria, mapped to grades by
//! explicit cut-offs from a TOML rules file (docs/metrics.md, "Rating"; `examples/rating.toml`).

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;
use serde::Deserialize;

use super::orders::str_values;
use super::stats::round_to;
use crate::ledger::Ledger;

/// The built-in rules, the same text as `examples/rating.toml`.
pub const DEFAULT_RULES: &str = include_str!("../../examples/rating.toml");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    Value,
    Frequency,
    Recency,
    Growth,
    Margin,
    RefundRate,
}

impl Criterion {
    const ALL: [Criterion; 6] = [
        Criterion::Value,
        Criterion::Frequency,
        Criterion::Recency,
        Criterion::Growth,
        Criterion::Margin,
        Criterion::RefundRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Criterion::Value => "value",
            Criterion::Frequency => "frequency",
            Criterion::Recency => "recency",
            Criterion::Growth => "growth",
            Criterion::Margin => "margin",
            Criterion::RefundRate => "refund_rate",
        }
    }

    /// Whether a lower raw value is better.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Criterion::Recency | Criterion::RefundRate)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalise {
    Percentile,
    MinMax,
}

#[derive(Clone, Debug)]
pub struct Grade {
    pub grade: String,
    pub min_score: f64,
}

#[derive(Clone, Debug)]
pub struct RatingRules {
    pub normalise: Normalise,
    pub growth_days: i32,
    pub weights: Vec<(Criterion, f64)>,
    /// Highest cut-off first; the last is 0.
    pub grades: Vec<Grade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    normalise: Option<String>,
    growth_days: Option<i64>,
    criteria: toml::Table,
    grades: Vec<RawGrade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrade {
    grade: String,
    min_score: f64,
}

/// The 1-based line of the first line that starts with `key` (then spaces and `=`), or of
/// `section`, for error messages.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key).is_some_and(|rest| {
                rest.trim_start().starts_with('=') || rest.trim_start().starts_with(']')
            }) || t == key
        })
        .map_or(1, |i| i + 1)
}

impl RatingRules {
    /// Parses and validates rules; every message names the line it is about.
    pub fn parse(text: &str) -> std::result::Result<RatingRules, String> {
        let raw: RawRules =
            toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', "\n  "))?;
        let normalise = match raw.normalise.as_deref().unwrap_or("percentile") {
            "percentile" => Normalise::Percentile,
            "min-max" | "minmax" => Normalise::MinMax,
            other => {
                return Err(format!(
                    "line {}: normalise = {other:?}; expected \"percentile\" or \"min-max\"",
                    line_of(text, "normalise")
                ))
            }
        };
        let growth_days = raw.growth_days.unwrap_or(365);
        if !(1..=3660).contains(&growth_days) {
            return Err(format!(
                "line {}: growth_days must be 1 to 3660",
                line_of(text, "growth_days")
            ));
        }
        let mut weights = Vec::new();
        for (key, value) in &raw.criteria {
            let criterion = Criterion::ALL
                .into_iter()
                .find(|c| c.name() == key)
                .ok_or_else(|| {
                    format!(
                        "line {}: unknown criterion {key:?}; criteria are {}",
                        line_of(text, key),
                        Criterion::ALL.map(Criterion::name).join(", ")
                    )
                })?;
            let weight = value
                .as_float()
                .or_else(|| value.as_integer().map(|i| i as f64))
                .filter(|w| w.is_finite() && *w >= 0.0)
                .ok_or_else(|| {
                    format!(
                        "line {}: the weight of {key} must be a number ≥ 0",
                        line_of(text, key)
                    )
                })?;
            if weight > 0.0 {
                weights.push((criterion, weight));
            }
        }
        let total: f64 = weights.iter().map(|(_, w)| w).sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(format!(
                "line {}: the [criteria] weights sum to {total}, not 1",
                line_of(text, "[criteria")
            ));
        }
        let mut grades: Vec<Grade> = raw
            .grades
            .into_iter()
            .map(|g| Grade {
                grade: g.grade,
                min_score: g.min_score,
            })
            .collect();
        grades.sort_by(|a, b| b.min_score.total_cmp(&a.min_score));
        match grades.last() {
            Some(g) if g.min_score <= 0.0 => {}
            _ => {
                return Err(format!(
                "line {}: the lowest grade must have min_score = 0, so every customer gets a grade",
                line_of(text, "[[grades")
            ))
            }
        }
        Ok(RatingRules {
            normalise,
            growth_days: growth_days as i32,
            weights,
            grades,
        })
    }
}

/// Normalises raw values to 0–1 with 1 the best.
pub fn normalise(values: &[f64], lower_is_better: bool, method: Normalise) -> Vec<f64> {
    let n = values.len();
    let oriented: Vec<f64> = values
        .iter()
        .map(|&v| if lower_is_better { -v } else { v })
        .collect();
    match method {
        Normalise::Percentile => {
            // The share of customers no better than this one (ties count as no better), so a tie
            // at the top — every customer without refunds, say — scores 1, and ties share a value.
            let mut sorted = oriented.clone();
            sorted.sort_by(f64::total_cmp);
            oriented
                .iter()
                .map(|v| sorted.partition_point(|x| x.total_cmp(v).is_le()) as f64 / n as f64)
                .collect()
        }
        Normalise::MinMax => {
            let lo = oriented.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = oriented.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            oriented
                .iter()
                .map(|&v| if hi > lo { (v - lo) / (hi - lo) } else { 1.0 })
                .collect()
        }
    }
}

pub struct Rating {
    /// customer_id, score, grade, then `<criterion>_score` per weighted criterion; by score
    /// (highest first), then customer_id.
    pub customers: DataFrame,
    pub as_of: Day,
}

/// Rates the customers with a purchase; `extra_customers` (the customers file) without one get
/// score 0 and every criterion 0.
pub fn rating(
    ledger: &Ledger,
    extra_customers: Option<&[&str]>,
    rules: &RatingRules,
) -> Result<Rating> {
    let (ids, raw) = raw_criteria(ledger, rules)?;
    rate(ids, raw, ledger.as_of, extra_customers, rules)
}

/// Each weighted criterion (in the rules' order) with one raw value per buyer.
pub type RawCriteria = Vec<(Criterion, Vec<f64>)>;

/// The buyers of a ledger (IDs) and the raw value of each weighted criterion, in the rules'
/// order: what [`rate`] normalises (one ledger, or the partitions of one put together).
pub fn raw_criteria(ledger: &Ledger, rules: &RatingRules) -> Result<(Vec<String>, RawCriteria)> {
    let as_of = ledger.as_of.days();
    let needs_margin = rules.weights.iter().any(|(c, _)| *c == Criterion::Margin);
    if needs_margin && !ledger.has_margin() {
        anyhow::bail!(
            "the rules weight margin, but the orders have no margin or cost column (or --map margin=HEADER)"
        );
    }
    let recent_start = as_of - rules.growth_days;
    let prior_start = as_of - 2 * rules.growth_days;
    let buyers: Vec<usize> = ledger.buyers().collect();
    let ids: Vec<String> = buyers.iter().map(|&c| ledger.id(c).to_string()).collect();
    let mut columns: Vec<(Criterion, Vec<f64>)> = Vec::new();
    for &(criterion, _) in &rules.weights {
        // Money is exact (docs/metrics.md, "Money"), so equal amounts tie on every run.
        let raw: Vec<f64> = buyers
            .iter()
            .map(|&c| match criterion {
                Criterion::Value => ledger.net(c).to_f64_cents(),
                Criterion::Frequency => ledger.purchase_days(c).len() as f64,
                Criterion::Recency => f64::from(as_of - ledger.last_purchase(c).unwrap_or(as_of)),
                Criterion::Growth => (ledger.net_between(c, recent_start, as_of)
                    - ledger.net_between(c, prior_start, recent_start))
                .to_f64_cents(),
                Criterion::Margin => ledger.margin(c).unwrap_or_default().to_f64_cents(),
                Criterion::RefundRate => {
                    let refunded = ledger.refunded(c);
                    let paid = ledger.net(c) + refunded;
                    if paid.is_positive() {
                        refunded.to_f64() / paid.to_f64()
                    } else {
                        0.0
                    }
                }
            })
            .collect();
        columns.push((criterion, raw));
    }
    Ok((ids, columns))
}

/// Normalises the raw criteria over all the buyers, weights them into scores and grades, adds
/// the customers file's customers without a purchase at 0, and sorts (score, then ID).
pub fn rate(
    mut ids: Vec<String>,
    raw: RawCriteria,
    as_of: Day,
    extra_customers: Option<&[&str]>,
    rules: &RatingRules,
) -> Result<Rating> {
    let mut columns: Vec<(Criterion, Vec<f64>)> = raw
        .into_iter()
        .map(|(criterion, values)| {
            let normalised = normalise(&values, criterion.lower_is_better(), rules.normalise);
            (criterion, normalised)
        })
        .collect();
    // Customers from the customers file with no purchase: 0 on every criterion.
    if let Some(extra) = extra_customers {
        let rated: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut missing: Vec<&str> = extra
            .iter()
            .copied()
            .filter(|id| !rated.contains(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for id in missing {
            ids.push(id.to_string());
            for (_, values) in columns.iter_mut() {
                values.push(0.0);
            }
        }
    }
    let n = ids.len();
    let scores: Vec<f64> = (0..n)
        .map(|i| {
            let s: f64 = rules
                .weights
                .iter()
                .zip(&columns)
                .map(|((_, w), (_, values))| w * values[i])
                .sum();
            round_to(100.0 * s, 2)
        })
        .collect();
    let grade_of = |score: f64| {
        rules
            .grades
            .iter()
            .find(|g| score >= g.min_score)
            .or(rules.grades.last())
            .map_or("", |g| g.grade.as_str())
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then_with(|| ids[a].cmp(&ids[b]))
    });
    let mut out = vec![
        Column::new(
            "customer_id".into(),
            order.iter().map(|&i| ids[i].as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "score".into(),
            order.iter().map(|&i| scores[i]).collect::<Vec<_>>(),
        ),
        Column::new(
            "grade".into(),
            order
                .iter()
                .map(|&i| grade_of(scores[i]))
                .collect::<Vec<_>>(),
        ),
    ];
    for (criterion, values) in &columns {
        out.push(Column::new(
            format!("{}_score", criterion.name()).into(),
            order
                .iter()
                .map(|&i| round_to(values[i], 4))
                .collect::<Vec<_>>(),
        ));
    }
    Ok(Rating {
        customers: DataFrame::new_infer_height(out)?,
        as_of,
    })
}

/// Per grade, highest first: customers, customer_share, min_score.
pub fn grade_summary(customers: &DataFrame, rules: &RatingRules) -> Result<DataFrame> {
    let grades = str_values(customers, "grade")?;
    let n = grades.len() as f64;
    let names: Vec<&str> = rules.grades.iter().map(|g| g.grade.as_str()).collect();
    let counts: Vec<i64> = names
        .iter()
        .map(|g| grades.iter().filter(|x| *x == g).count() as i64)
        .collect();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("grade".into(), names.clone()),
        Column::new(
            "min_score".into(),
            rules.grades.iter().map(|g| g.min_score).collect::<Vec<_>>(),
        ),
        Column::new("customers".into(), counts.clone()),
        Column::new(
            "customer_share".into(),
            counts
                .iter()
                .map(|&c| {
                    if n > 0.0 {
                        round_to(c as f64 / n, 4)
                    } else {
                        0.0
                    }
                })
                .collect::<Vec<_>>(),
        ),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_parse() {
        let r = RatingRules::parse(DEFAULT_RULES).unwrap();
        assert_eq!(r.grades.first().unwrap().grade, "A");
        assert_eq!(r.weights.len(), 5);
    }

    #[test]
    fn bad_rules_name_the_line() {
        let err = RatingRules::parse(
            "[criteria]\nvalue = 0.5\nloyalty = 0.5\n[[grades]]\ngrade = \"A\"\nmin_score = 0\n",
        )
        .unwrap_err();
        assert!(
            err.starts_with("line 3: unknown criterion \"loyalty\""),
            "{err}"
        );
        let err = RatingRules::parse(
            "\n[criteria]\nvalue = 0.5\nrecency = 0.4\n[[grades]]\ngrade = \"A\"\nmin_score = 0\n",
        )
        .unwrap_err();
        assert!(
            err.starts_with("line 2: the [criteria] weights sum to 0.9"),
            "{err}"
        );
        let err = RatingRules::parse(
            "[criteria]\nvalue = 1\n[[grades]]\ngrade = \"A\"\nmin_score = 10\n",
        )
        .unwrap_err();
        assert!(err.contains("min_score = 0"), "{err}");
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            normalise(&[1.0, 2.0, 2.0, 5.0], false, Normalise::Percentile),
            vec![0.25, 0.75, 0.75, 1.0]
        );
        // Lower is better: the tie at the top (no refunds) scores 1.
        assert_eq!(
            normalise(&[0.0, 0.0, 0.5], true, Normalise::Percentile),
            vec![1.0, 1.0, 1.0 / 3.0]
        );
        assert_eq!(
            normalise(&[10.0, 20.0, 30.0], true, Normalise::MinMax),
            vec![1.0, 0.5, 0.0]
        );
        assert_eq!(
            normalise(&[4.0, 4.0], false, Normalise::MinMax),
            vec![1.0, 1.0]
        );
    }
}
