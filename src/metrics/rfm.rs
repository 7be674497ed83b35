//! RFM: recency, frequency and monetary value per customer, quantile scores and named segments.
//!
//! Definitions (docs/metrics.md, "RFM"; purchases as in "Orders and purchases", [`crate::ledger`]):
//! - recency_days = as_of − last purchase date; frequency = purchases (or distinct purchase days);
//!   monetary = net spend of every order row before as_of, refunds included, rounded to cents;
//! - scores: see [`quantile_scores`] and [`break_scores`].

use super::meanings::{self, Meaning};
use super::stats::round_to;
use crate::day::Day;
use anyhow::Result;

use crate::ledger::{Buyers, Ledger};
use polars::prelude::*;
use rayon::prelude::*;
use serde::Deserialize;

/// What `frequency` counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrequencyBasis {
    /// Purchases (orders with positive net, or free orders never refunded).
    #[default]
    Orders,
    /// Distinct days with a purchase.
    Days,
}

/// How one dimension is scored.
#[derive(Clone, Debug, PartialEq)]
pub enum Scoring {
    /// Quantile scores 1..=bins with ties sharing a score.
    Quantile { bins: u32 },
    /// Explicit ascending breakpoints; `breaks.len() + 1` scores.
    Breaks(Vec<f64>),
}

impl Scoring {
    pub fn levels(&self) -> u32 {
        match self {
            Scoring::Quantile { bins } => *bins,
            Scoring::Breaks(b) => b.len() as u32 + 1,
        }
    }
}

/// An inclusive score range, written `[low, high]` in the rules file.
pub type ScoreRange = [u32; 2];

/// One row of the segment rule table: a customer belongs to the first rule whose ranges all hold.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    pub name: String,
    pub r: Option<ScoreRange>,
    pub f: Option<ScoreRange>,
    pub m: Option<ScoreRange>,
    /// The rounded mean of F and M: ⌊(f + m + 1) / 2⌋.
    pub fm: Option<ScoreRange>,
    /// What the segment means and what to do about it, for the summary (a built-in name without
    /// them takes the built-in ones, [`super::meanings`]).
    #[serde(default)]
    pub meaning: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
}

impl SegmentRule {
    fn new(name: &str, r: ScoreRange, fm: ScoreRange) -> Self {
        SegmentRule {
            name: name.to_string(),
            r: Some(r),
            f: None,
            m: None,
            fm: Some(fm),
            meaning: None,
            action: None,
        }
    }

    pub fn matches(&self, r: u32, f: u32, m: u32) -> bool {
        let within =
            |range: &Option<ScoreRange>, v: u32| range.is_none_or(|[lo, hi]| lo <= v && v <= hi);
        within(&self.r, r)
            && within(&self.f, f)
            && within(&self.m, m)
            && within(&self.fm, fm_score(f, m))
    }
}

/// A score on 1..=levels placed on the 1..=5 of the built-in segment grid: 1 + round((s − 1) ×
/// 4 / (levels − 1)), half away from zero (scores of 5 levels, or fewer than 2, unchanged).
pub fn grid_score(s: u32, levels: u32) -> u32 {
    if levels == 5 || levels < 2 {
        s
    } else {
        1 + ((f64::from(s - 1) * 4.0 / f64::from(levels - 1)).round() as u32)
    }
}

/// The FM score used by the segment grid: the mean of F and M, rounded half up.
pub fn fm_score(f: u32, m: u32) -> u32 {
    (f + m).div_ceil(2)
}

/// The default 11 segments on the 5 × 5 grid of R against FM. Every one of the 25 cells belongs to
/// exactly one segment (a unit test checks it):
///
/// ```text
///        FM=1            FM=2                FM=3                FM=4             FM=5
/// R=5    New             Potential Loyalist  Potential Loyalist  Champions        Champions
/// R=4    Promising       Potential Loyalist  Potential Loyalist  Loyal            Champions
/// R=3    About to Sleep  About to Sleep      Need Attention      Loyal            Loyal
/// R=2    Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them
/// R=1    Lost            Lost                At Risk             Can't Lose Them  Can't Lose Them
/// ```
pub fn default_segments() -> Vec<SegmentRule> {
    vec![
        SegmentRule::new("Champions", [5, 5], [4, 5]),
        SegmentRule::new("Champions", [4, 4], [5, 5]),
        SegmentRule::new("Loyal", [4, 4], [4, 4]),
        SegmentRule::new("Loyal", [3, 3], [4, 5]),
        SegmentRule::new("Potential Loyalist", [4, 5], [2, 3]),
        SegmentRule::new("New", [5, 5], [1, 1]),
        SegmentRule::new("Promising", [4, 4], [1, 1]),
        SegmentRule::new("Need Attention", [3, 3], [3, 3]),
        SegmentRule::new("About to Sleep", [3, 3], [1, 2]),
        SegmentRule::new("At Risk", [2, 2], [3, 4]),
        SegmentRule::new("At Risk", [1, 1], [3, 3]),
        SegmentRule::new("Can't Lose Them", [2, 2], [5, 5]),
        SegmentRule::new("Can't Lose Them", [1, 1], [4, 5]),
        SegmentRule::new("Hibernating", [2, 2], [1, 2]),
        SegmentRule::new("Lost", [1, 1], [1, 2]),
    ]
}

/// The segment name for customers no rule matches (possible only with a custom rule table).
pub const UNMATCHED_SEGMENT: &str = "Other";

#[derive(Clone, Debug)]
pub struct RfmOptions {
    /// Days since 1970-01-01; None means the day after the latest order date in the data.
    pub as_of: Option<Day>,
    pub frequency: FrequencyBasis,
    pub r_scoring: Scoring,
    pub f_scoring: Scoring,
    pub m_scoring: Scoring,
    pub segments: Vec<SegmentRule>,
    /// True when `segments` is the built-in table, whose ranges are on a 1–5 scale: scores on
    /// another scale are mapped onto it before matching.
    pub default_segments: bool,
}

impl Default for RfmOptions {
    fn default() -> Self {
        RfmOptions {
            as_of: None,
            frequency: FrequencyBasis::Orders,
            r_scoring: Scoring::Quantile { bins: 5 },
            f_scoring: Scoring::Quantile { bins: 5 },
            m_scoring: Scoring::Quantile { bins: 5 },
            segments: default_segments(),
            default_segments: true,
        }
    }
}

/// The result of [`rfm`].
pub struct Rfm {
    /// One row per customer with at least one purchase, sorted by customer_id.
    pub customers: DataFrame,
    pub as_of: Day,
    /// Customers that appear in the orders but never made a purchase (only cancelled, unpaid or
    /// refunded rows); they have no recency and are left out of the scores.
    pub without_purchase: usize,
    /// Order rows dated on or after `as_of`, left out.
    pub after_as_of: usize,
}

/// Per customer with a purchase, in ledger (customer ID) order: customer_id, first_order_date,
/// last_order_date, frequency and monetary (net spend in cents, every order row before as_of).
pub fn purchase_summary(ledger: &Ledger, basis: FrequencyBasis) -> Result<DataFrame> {
    let Buyers {
        codes: buyers,
        first,
        last,
        purchases,
    } = ledger.buyer_summary();
    let frequency: Vec<i64> = match basis {
        FrequencyBasis::Orders => purchases,
        FrequencyBasis::Days => buyers
            .iter()
            .map(|&c| ledger.purchase_day_count(c) as i64)
            .collect(),
    };
    let monetary: Vec<f64> = buyers
        .iter()
        .map(|&c| ledger.net(c).to_f64_cents())
        .collect();
    let date = |name: &str, v: Vec<i32>| Column::new(name.into(), v).cast(&DataType::Date);
    Ok(DataFrame::new_infer_height(vec![
        buyer_ids(ledger, &buyers)?,
        date("first_order_date", first)?,
        date("last_order_date", last)?,
        Column::new("frequency".into(), frequency),
        Column::new("monetary".into(), monetary),
    ])?)
}

/// The `customer_id` column of the given customers (ledger codes, ascending).
pub fn buyer_ids(ledger: &Ledger, codes: &[usize]) -> Result<Column> {
    let idx = IdxCa::from_vec(
        PlSmallStr::EMPTY,
        codes.iter().map(|&c| c as IdxSize).collect(),
    );
    Ok(ledger
        .ids()
        .take(&idx)?
        .with_name("customer_id".into())
        .into_column())
}

/// Runs RFM on the purchase ledger.
pub fn rfm(ledger: &Ledger, opts: &RfmOptions) -> Result<Rfm> {
    let watch = crate::diag::Stopwatch::new();
    let summary = purchase_summary(ledger, opts.frequency)?;
    watch.lap("  rfm: purchase summary");
    let customers = score_customers(summary, ledger.as_of, opts)?;
    Ok(Rfm {
        without_purchase: ledger.stats.customers_without_purchase,
        after_as_of: ledger.stats.rows_after_as_of,
        customers,
        as_of: ledger.as_of,
    })
}

/// Adds recency, scores, codes and segments to a purchase summary.
/// The summary is taken so that its columns are freed as they are replaced.
pub fn score_customers(mut summary: DataFrame, as_of: Day, opts: &RfmOptions) -> Result<DataFrame> {
    let watch = crate::diag::Stopwatch::new();
    let last: Vec<i32> = date_values(&summary, "last_order_date")?;
    let recency: Vec<i64> = last
        .iter()
        .map(|&d| i64::from(as_of.days()) - i64::from(d))
        .collect();
    let n = last.len();
    drop(last);
    let frequency = summary.column("frequency")?.clone();
    let monetary: Vec<f64> = summary
        .drop_in_place("monetary")?
        .as_materialized_series()
        .f64()?
        .iter()
        .map(|v| round_to(v.unwrap_or(0.0), 2))
        .collect();

    // Lower recency is better, so it is scored on its negation. (Each temporary is dropped
    // before the next is made: with --memory-limit this table holds every customer.)
    let r_score = match &opts.r_scoring {
        Scoring::Quantile { bins } => {
            let neg_recency: Vec<f64> = recency.iter().map(|&r| -(r as f64)).collect();
            quantile_scores(&neg_recency, *bins)
        }
        Scoring::Breaks(b) => {
            // Recency breaks are days: ≤ first break scores highest.
            let levels = b.len() as u32 + 1;
            recency
                .iter()
                .map(|&r| levels - b.iter().filter(|&&x| (r as f64) > x).count() as u32)
                .collect()
        }
    };
    let f_score = {
        let freq_f: Vec<f64> = frequency
            .as_materialized_series()
            .i64()?
            .iter()
            .map(|f| f.unwrap_or(0) as f64)
            .collect();
        score_dimension(&freq_f, &opts.f_scoring)
    };
    let m_score = score_dimension(&monetary, &opts.m_scoring);
    watch.lap("  rfm: scores");

    let to_five = |s: u32, scoring: &Scoring| -> u32 {
        if opts.default_segments {
            grid_score(s, scoring.levels())
        } else {
            s
        }
    };
    // Each (r, f, m) code is formatted and matched to its segment once, not once per customer:
    // in a table indexed by the three scores (each at most its scoring's levels).
    let top = |s: &[u32]| s.iter().copied().max().unwrap_or(0) as usize + 1;
    let (f_top, m_top) = (top(&f_score), top(&m_score));
    let slot = |i: usize| {
        (r_score[i] as usize * f_top + f_score[i] as usize) * m_top + m_score[i] as usize
    };
    let mut table: Vec<Option<(String, &str)>> = vec![None; top(&r_score) * f_top * m_top];
    for i in 0..n {
        table[slot(i)].get_or_insert_with(|| {
            let key = (r_score[i], f_score[i], m_score[i]);
            let (r, f, m) = (
                to_five(key.0, &opts.r_scoring),
                to_five(key.1, &opts.f_scoring),
                to_five(key.2, &opts.m_scoring),
            );
            let segment = opts
                .segments
                .iter()
                .find(|rule| rule.matches(r, f, m))
                .map_or(UNMATCHED_SEGMENT, |rule| rule.name.as_str());
            (format!("{}{}{}", key.0, key.1, key.2), segment)
        });
    }
    // Every slot read was filled in the loop above.
    let entry = |i: usize| {
        table[slot(i)]
            .as_ref()
            .map_or(("", UNMATCHED_SEGMENT), |(code, segment)| {
                (code.as_str(), *segment)
            })
    };
    let segments =
        StringChunked::from_iter_values("segment".into(), (0..n).map(|i| entry(i).1)).into_column();
    let codes = StringChunked::from_iter_values("rfm_code".into(), (0..n).map(|i| entry(i).0))
        .into_column();
    let score_col = |name: &str, s: Vec<u32>| {
        Column::new(
            name.into(),
            s.into_iter().map(|v| v as i32).collect::<Vec<i32>>(),
        )
    };
    watch.lap("  rfm: codes and segments");
    let df = DataFrame::new_infer_height(vec![
        summary.column("customer_id")?.clone(),
        summary.column("first_order_date")?.clone(),
        summary.column("last_order_date")?.clone(),
        Column::new("recency_days".into(), recency),
        frequency,
        Column::new("monetary".into(), monetary),
        score_col("r_score", r_score),
        score_col("f_score", f_score),
        score_col("m_score", m_score),
        codes,
        segments,
    ])?;
    Ok(df)
}

fn score_dimension(values: &[f64], scoring: &Scoring) -> Vec<u32> {
    match scoring {
        Scoring::Quantile { bins } => quantile_scores(values, *bins),
        Scoring::Breaks(b) => break_scores(values, b),
    }
}

/// Quantile scores where higher values are better:
/// `score = 1 + ⌊bins × (number of customers with a strictly lower value) / customers⌋`.
///
/// Equal values therefore always share a score (the score depends only on how many are strictly
/// below), the lowest value scores 1, and with distinct values each score holds ⌊n / bins⌋ or
/// ⌈n / bins⌉ customers. A heavy tie (many one-time buyers) takes one score and the next value
/// jumps to where its rank puts it, rather than splitting equal customers across scores.
pub fn quantile_scores(values: &[f64], bins: u32) -> Vec<u32> {
    counted_scores(values, bins).unwrap_or_else(|| sorted_scores(values, bins))
}

/// The score of a value: 1 + ⌊bins × (values strictly below it) / n⌋, at most `bins`.
fn score_of(below: usize, n: usize, bins: u32) -> u32 {
    (1 + (u64::from(bins) * below as u64 / n as u64) as u32).min(bins)
}

/// [`quantile_scores`] by counting, for whole numbers in a range not much wider than their count
/// (days, order counts): no sort. None for anything else (fractions, a wide range, or zeros of
/// both signs, which the sort orders apart).
fn counted_scores(values: &[f64], bins: u32) -> Option<Vec<u32>> {
    let n = values.len();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut plus_zero, mut minus_zero) = (false, false);
    for &v in values {
        if v.fract() != 0.0 {
            return None; // a fraction, NaN or an infinity
        }
        lo = lo.min(v);
        hi = hi.max(v);
        plus_zero |= v == 0.0 && v.is_sign_positive();
        minus_zero |= v == 0.0 && v.is_sign_negative();
    }
    let width = hi - lo + 1.0;
    if n == 0 || (plus_zero && minus_zero) || width > (2 * n).max(1 << 16) as f64 {
        return None;
    }
    let slot = |v: f64| (v - lo) as usize;
    let mut below = vec![0usize; width as usize + 1];
    for &v in values {
        below[slot(v) + 1] += 1;
    }
    for i in 1..below.len() {
        below[i] += below[i - 1];
    }
    Some(
        values
            .iter()
            .map(|&v| score_of(below[slot(v)], n, bins))
            .collect(),
    )
}

/// [`quantile_scores`] by one sort of (value, position).
fn sorted_scores(values: &[f64], bins: u32) -> Vec<u32> {
    let n = values.len();
    // One sort of (value, position); then each run of equal values gets the score of the number
    // of values before the run.
    let mut sorted: Vec<(f64, usize)> = values.iter().copied().zip(0..).collect();
    sorted.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut scores = vec![0u32; n];
    let mut start = 0;
    while start < n {
        let value = sorted[start].0;
        let score = score_of(start, n, bins);
        let mut end = start;
        while end < n && sorted[end].0.total_cmp(&value).is_eq() {
            scores[sorted[end].1] = score;
            end += 1;
        }
        start = end;
    }
    scores
}

/// Scores against ascending breakpoints: a value ≤ the first break scores 1, ≤ the second 2, …,
/// above the last `breaks.len() + 1`.
pub fn break_scores(values: &[f64], breaks: &[f64]) -> Vec<u32> {
    values
        .iter()
        .map(|&v| 1 + breaks.iter().filter(|&&b| v > b).count() as u32)
        .collect()
}

fn date_values(df: &DataFrame, name: &str) -> Result<Vec<i32>> {
    Ok(df
        .column(name)?
        .as_materialized_series()
        .date()?
        .physical()
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// Per segment: customers, share of customers, revenue, share of revenue and mean R/F/M, in the
/// order of the rule table (each name once), then `Other` if any customer fell through.
pub fn segment_summary(customers: &DataFrame, rules: &[SegmentRule]) -> Result<DataFrame> {
    let mut names: Vec<String> = Vec::new();
    for rule in rules {
        if !names.contains(&rule.name) {
            names.push(rule.name.clone());
        }
    }
    let segment: Vec<&str> = customers
        .column("segment")?
        .as_materialized_series()
        .str()?
        .iter()
        .map(|s| s.unwrap_or(UNMATCHED_SEGMENT))
        .collect();
    if segment.contains(&UNMATCHED_SEGMENT) && !names.iter().any(|n| n == UNMATCHED_SEGMENT) {
        names.push(UNMATCHED_SEGMENT.to_string());
    }
    let get_f64 = |name: &str| -> Result<Vec<f64>> {
        Ok(customers
            .column(name)?
            .as_materialized_series()
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect())
    };
    let recency = get_f64("recency_days")?;
    let frequency = get_f64("frequency")?;
    let monetary = get_f64("monetary")?;
    let total_customers = segment.len() as f64;
    let total_revenue: f64 = monetary.iter().sum();

    let mut counts = Vec::new();
    let mut customer_share = Vec::new();
    let mut revenue = Vec::new();
    let mut revenue_share = Vec::new();
    let mut mean_r = Vec::new();
    let mut mean_f = Vec::new();
    let mut mean_m = Vec::new();
    for name in &names {
        let idx: Vec<usize> = (0..segment.len()).filter(|&i| segment[i] == name).collect();
        let n = idx.len() as f64;
        let rev: f64 = idx.iter().map(|&i| monetary[i]).sum();
        let mean =
            |v: &[f64]| (n > 0.0).then(|| round_to(idx.iter().map(|&i| v[i]).sum::<f64>() / n, 2));
        counts.push(idx.len() as i64);
        customer_share.push((total_customers > 0.0).then(|| round_to(n / total_customers, 4)));
        revenue.push(round_to(rev, 2));
        revenue_share.push((total_revenue > 0.0).then(|| round_to(rev / total_revenue, 4)));
        mean_r.push(mean(&recency));
        mean_f.push(mean(&frequency));
        mean_m.push(mean(&monetary));
    }
    // Each segment's meaning and action: its first rule's own, else the built-in segment's.
    let explained = |name: &str,
                     own: fn(&SegmentRule) -> Option<&String>,
                     built_in: fn(&Meaning) -> &'static str| {
        rules
            .iter()
            .filter(|r| r.name == name)
            .find_map(|r| own(r).cloned())
            .or_else(|| {
                meanings::of(&meanings::RFM_SEGMENTS, name).map(|m| built_in(m).to_string())
            })
            .unwrap_or_default()
    };
    let meaning: Vec<String> = names
        .iter()
        .map(|n| explained(n, |r| r.meaning.as_ref(), |m| m.meaning))
        .collect();
    let action: Vec<String> = names
        .iter()
        .map(|n| explained(n, |r| r.action.as_ref(), |m| m.action))
        .collect();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("segment".into(), names),
        Column::new("meaning".into(), meaning),
        Column::new("action".into(), action),
        Column::new("customers".into(), counts),
        Column::new("customer_share".into(), customer_share),
        Column::new("revenue".into(), revenue),
        Column::new("revenue_share".into(), revenue_share),
        Column::new("mean_recency_days".into(), mean_r),
        Column::new("mean_frequency".into(), mean_f),
        Column::new("mean_monetary".into(), mean_m),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Scores by counting equal scores by sorting, whenever counting applies.
        #[test]
        fn counted_scores_are_sorted_scores(
            values in proptest::collection::vec(-40i32..40, 1..300),
            scale in proptest::sample::select(vec![1.0, -1.0, 1000.0, 0.5]),
            bins in 1u32..9,
        ) {
            let v: Vec<f64> = values.iter().map(|&x| f64::from(x) * scale).collect();
            let sorted = sorted_scores(&v, bins);
            let counted = counted_scores(&v, bins);
            proptest::prop_assert!(scale != 1.0 || counted.is_some(), "whole numbers are counted");
            if let Some(counted) = counted {
                proptest::prop_assert_eq!(counted, sorted);
            }
        }
    }

    #[test]
    fn default_grid_covers_every_cell_once_by_first_match() {
        let rules = default_segments();
        let mut seen = std::collections::BTreeSet::new();
        for r in 1..=5 {
            for fm in 1..=5 {
                // f = m = fm gives that FM score.
                let hits: Vec<&SegmentRule> =
                    rules.iter().filter(|x| x.matches(r, fm, fm)).collect();
                assert_eq!(hits.len(), 1, "R={r} FM={fm}: {hits:?}");
                seen.insert(hits[0].name.clone());
            }
        }
        assert_eq!(seen.len(), 11, "{seen:?}");
    }

    #[test]
    fn quantile_scores_share_ties_and_span_the_range() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_scores(&v, 5), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Six one-time buyers tie on the lowest score; the next value jumps by rank.
        let v = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 9.0];
        assert_eq!(quantile_scores(&v, 5), vec![1, 1, 1, 1, 1, 1, 4, 4, 5, 5]);
        assert_eq!(quantile_scores(&[7.0, 7.0, 7.0], 5), vec![1, 1, 1]);
        assert_eq!(quantile_scores(&[], 5), Vec::<u32>::new());
    }

    #[test]
    fn break_scores_are_inclusive_upper_bounds() {
        assert_eq!(
            break_scores(&[0.0, 1.0, 1.5, 2.0, 9.0], &[1.0, 2.0, 4.0, 8.0]),
            vec![1, 1, 2, 2, 5]
        );
    }

    #[test]
    fn fm_rounds_half_up() {
        assert_eq!(fm_score(4, 5), 5);
        assert_eq!(fm_score(1, 2), 2);
        assert_eq!(fm_score(3, 3), 3);
    }
}
