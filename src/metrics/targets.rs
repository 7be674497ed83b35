//! KPI targets (docs/metrics.md, "KPI targets"): a `targets.toml` of `[[target]]` tables, each
//! naming a KPI of the catalogue with a `min` or a `max`, checked against what the analyses
//! measured. A target is `missed` when the value is on the wrong side of it (with
//! `miss = "interval"`: when the whole 95 % interval is), `ok` otherwise, and `no data` when its
//! KPI could not be measured (an input not given, no case to count).

use polars::prelude::*;
use serde::Deserialize;

pub use super::periods::{Span, TargetPeriod};
use super::stats::round_to;
use crate::day::Day;

/// The `[[target]]` tables of a targets file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    #[serde(default)]
    target: Vec<TargetSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    kpi: String,
    min: Option<f64>,
    max: Option<f64>,
    /// `value` (default) or `interval`.
    miss: Option<String>,
    period: Option<String>,
    by: Option<String>,
}

/// Which side of the target is good.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Min(f64),
    Max(f64),
}

/// One checked target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub kpi: &'static str,
    pub bound: Bound,
    /// Call a miss only when the whole 95 % interval is on the wrong side.
    pub by_interval: bool,
    /// `by = "owner"`: the target applies to each owner's value.
    pub per_owner: bool,
    /// Measured over this period instead of everything before as_of.
    pub period: Option<TargetPeriod>,
}

/// Parses a targets file against the KPI catalogue (`by_owner`: the KPIs also measured per
/// owner). Every mistake names the target (1-based) and what is expected.
pub fn parse(
    text: &str,
    catalogue: &[&'static str],
    by_owner: &[&str],
) -> Result<Vec<Target>, String> {
    let file: TargetsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.target.is_empty() {
        return Err("no [[target]] tables: nothing to check".into());
    }
    file.target
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let n = i + 1;
            let kpi = catalogue
                .iter()
                .find(|k| **k == t.kpi.trim())
                .copied()
                .ok_or_else(|| {
                    format!(
                        "target {n}: unknown kpi {:?}; the catalogue is {}",
                        t.kpi,
                        catalogue.join(", ")
                    )
                })?;
            let bound = match (t.min, t.max) {
                (Some(v), None) if v.is_finite() => Bound::Min(v),
                (None, Some(v)) if v.is_finite() => Bound::Max(v),
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "target {n} ({kpi}): give min or max, not both (two targets check a range)"
                    ))
                }
                _ => {
                    return Err(format!(
                        "target {n} ({kpi}): expected min = NUMBER or max = NUMBER"
                    ))
                }
            };
            let by_interval = match t.miss.as_deref() {
                None | Some("value") => false,
                Some("interval") => true,
                Some(other) => {
                    return Err(format!(
                        "target {n} ({kpi}): miss = {other:?}; expected \"value\" or \"interval\""
                    ))
                }
            };
            let period = t
                .period
                .as_deref()
                .map(TargetPeriod::parse)
                .transpose()
                .map_err(|e| format!("target {n} ({kpi}): {e}"))?;
            let per_owner = match t.by.as_deref() {
                None => false,
                Some("owner") if by_owner.contains(&kpi) => true,
                Some("owner") => {
                    return Err(format!(
                        "target {n} ({kpi}): by = \"owner\" is available for {} only",
                        by_owner.join(", ")
                    ))
                }
                Some(b) => {
                    return Err(format!(
                        "target {n} ({kpi}): by = {b:?} is not supported yet; by = \"owner\" is \
                         (for {})",
                        by_owner.join(", ")
                    ))
                }
            };
            Ok(Target {
                kpi,
                bound,
                by_interval,
                per_owner,
                period,
            })
        })
        .collect()
}

/// A measured KPI: its value and, for an estimated rate, its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// `ok`, `missed` or `no data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Missed,
    NoData,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missed => "missed",
            Status::NoData => "no data",
        }
    }
}

/// Whether a measured value meets a target.
pub fn status(target: &Target, measured: Option<&Measured>) -> Status {
    let Some(m) = measured else {
        return Status::NoData;
    };
    if !m.value.is_finite() {
        return Status::NoData;
    }
    // The side of the interval that must be wrong for a miss, or the value itself.
    let (low, high) = match (target.by_interval, m.interval) {
        (true, Some((low, high))) => (high, low),
        _ => (m.value, m.value),
    };
    let missed = match target.bound {
        Bound::Min(t) => low < t,
        Bound::Max(t) => high > t,
    };
    if missed {
        Status::Missed
    } else {
        Status::Ok
    }
}

/// A measured KPI with the owner it is of (`None`: all data) and the period it was measured
/// over (`None`: everything before as_of).
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredKpi {
    pub kpi: &'static str,
    pub owner: Option<String>,
    pub period: Option<TargetPeriod>,
    pub measured: Measured,
}

/// The result table: kpi, group, period, from, to, value, ci_low, ci_high, target, direction,
/// status, as_of, in the order of the targets file; a per-owner target has a row per owner
/// (group = the owner), or one `no data` row when no owner was measured. `from` and `to` are
/// the first and last day of the target's period (empty without one).
pub fn table(
    targets: &[Target],
    measures: &[MeasuredKpi],
    as_of: Day,
) -> PolarsResult<(DataFrame, Vec<Status>)> {
    let mut rows: Vec<(&Target, String, Option<Measured>)> = Vec::new();
    let of = |t: &Target, m: &MeasuredKpi| m.kpi == t.kpi && m.period == t.period;
    for t in targets {
        if t.per_owner {
            let owners: Vec<&MeasuredKpi> = measures
                .iter()
                .filter(|m| of(t, m) && m.owner.is_some())
                .collect();
            if owners.is_empty() {
                rows.push((t, "owner".into(), None));
            }
            for m in owners {
                rows.push((t, m.owner.clone().unwrap_or_default(), Some(m.measured)));
            }
        } else {
            let m = measures
                .iter()
                .find(|m| of(t, m) && m.owner.is_none())
                .map(|m| m.measured);
            rows.push((t, super::ALL.into(), m));
        }
    }
    let statuses: Vec<Status> = rows.iter().map(|(t, _, m)| status(t, m.as_ref())).collect();
    let num = |f: &dyn Fn(&Measured) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter()
            .map(|(_, _, m)| m.as_ref().and_then(f).map(|v| round_to(v, 6)))
            .collect()
    };
    let spans: Vec<Option<(String, String)>> = rows
        .iter()
        .map(|(t, _, _)| t.period.map(|p| p.window(as_of).dates()))
        .collect();
    let as_of = as_of.to_string();
    let df = DataFrame::new_infer_height(vec![
        Column::new(
            "kpi".into(),
            rows.iter().map(|(t, _, _)| t.kpi).collect::<Vec<_>>(),
        ),
        Column::new(
            "group".into(),
            rows.iter().map(|(_, g, _)| g.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "period".into(),
            rows.iter()
                .map(|(t, _, _)| t.period.map(TargetPeriod::label))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "from".into(),
            spans
                .iter()
                .map(|s| s.as_ref().map(|s| s.0.as_str()))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "to".into(),
            spans
                .iter()
                .map(|s| s.as_ref().map(|s| s.1.as_str()))
                .collect::<Vec<_>>(),
        ),
        Column::new("value".into(), num(&|m| Some(m.value))),
        Column::new("ci_low".into(), num(&|m| m.interval.map(|i| i.0))),
        Column::new("ci_high".into(), num(&|m| m.interval.map(|i| i.1))),
        Column::new(
            "target".into(),
            rows.iter()
                .map(|(t, _, _)| match t.bound {
                    Bound::Min(v) | Bound::Max(v) => v,
                })
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "direction".into(),
            rows.iter()
                .map(|(t, _, _)| match t.bound {
                    Bound::Min(_) => "min",
                    Bound::Max(_) => "max",
                })
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("as_of".into(), vec![as_of.as_str(); rows.len()]),
    ])?;
    Ok((df, statuses))
}

/// The history after this run: the earlier rows without those of the same as_of (a rerun
/// replaces its date), then this run's. `Err` names what is wrong with the earlier file's shape.
pub fn merge_history(
    earlier: &DataFrame,
    now: &DataFrame,
    as_of: &str,
) -> Result<DataFrame, String> {
    let want: Vec<&str> = now.get_column_names().iter().map(|n| n.as_str()).collect();
    let have: Vec<&str> = earlier
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    if want != have {
        return Err(format!(
            "it is not a KPI history of crm-eval check: its columns are {}, expected {}",
            have.join(", "),
            want.join(", ")
        ));
    }
    // Earlier rows in this run's types (a CSV history reads back as text).
    let mut columns = Vec::with_capacity(want.len());
    for c in now.columns() {
        let old = earlier.column(c.name()).map_err(|e| e.to_string())?;
        let cast = old
            .cast(c.dtype())
            .map_err(|_| format!("its column {} does not hold {}", c.name(), c.dtype()))?;
        if cast.null_count() > old.null_count() {
            return Err(format!(
                "its column {} has values that are not {}",
                c.name(),
                c.dtype()
            ));
        }
        columns.push(cast);
    }
    let earlier = DataFrame::new_infer_height(columns).map_err(|e| e.to_string())?;
    let keep = earlier
        .column("as_of")
        .and_then(|c| c.str().cloned())
        .map_err(|e| e.to_string())?
        .iter()
        .map(|d| d != Some(as_of))
        .collect::<BooleanChunked>();
    let mut merged = earlier.filter(&keep).map_err(|e| e.to_string())?;
    merged.vstack_mut(now).map_err(|e| e.to_string())?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::day::Day;

    const CATALOGUE: &[&str] = &["csat", "churn_rate", "lead_conversion_rate"];

    fn target(kpi: &'static str, bound: Bound, by_interval: bool) -> Target {
        Target {
            kpi,
            bound,
            by_interval,
            per_owner: false,
            period: None,
        }
    }

    #[test]
    fn targets_are_parsed_and_mistakes_named() {
        let t = parse(
            "[[target]]\nkpi = \"csat\"\nmin = 0.90\n[[target]]\nkpi = \"churn_rate\"\nmax = 0.05\nmiss = \"interval\"\n",
            CATALOGUE,
            &[],
        )
        .unwrap();
        assert_eq!(
            t,
            vec![
                target("csat", Bound::Min(0.9), false),
                target("churn_rate", Bound::Max(0.05), true)
            ]
        );
        let err = |text: &str| parse(text, CATALOGUE, &["lead_conversion_rate"]).unwrap_err();
        assert!(err("[[target]]\nkpi = \"nps2\"\nmin = 1\n")
            .contains("unknown kpi \"nps2\"; the catalogue is csat"));
        assert!(
            err("[[target]]\nkpi = \"csat\"\n").contains("expected min = NUMBER or max = NUMBER")
        );
        assert!(err("[[target]]\nkpi = \"csat\"\nmin = 1\nmax = 2\n").contains("not both"));
        assert!(
            err("[[target]]\nkpi = \"csat\"\nmin = 1\nmiss = \"ci\"\n").contains("\"interval\"")
        );
        assert!(err("[[target]]\nkpi = \"csat\"\nmin = 1\ncolour = 2\n").contains("colour"));
        assert!(err("").contains("no [[target]]"));
        assert!(err("[[target]]\nkpi = \"csat\"\nmin = 1\nby = \"owner\"\n")
            .contains("available for lead_conversion_rate only"));
        assert!(
            err("[[target]]\nkpi = \"csat\"\nmin = 1\nby = \"region\"\n")
                .contains("not supported yet")
        );
        assert!(
            err("[[target]]\nkpi = \"csat\"\nmin = 1\nperiod = \"last month\"\n")
                .contains("target 1 (csat): period = \"last month\"; expected \"last N days\"")
        );
        assert!(
            err("[[target]]\nkpi = \"csat\"\nmin = 1\nperiod = \"last 0 days\"\n")
                .contains("N from 1")
        );
        let t = parse(
            "[[target]]\nkpi = \"lead_conversion_rate\"\nmin = 0.3\nby = \"owner\"\n",
            CATALOGUE,
            &["lead_conversion_rate"],
        )
        .unwrap();
        assert!(t[0].per_owner);
    }

    #[test]
    fn periods_cover_the_days_they_name() {
        let day = |s: &str| Day::parse(s).map(Day::days).unwrap();
        let span = |text: &str, as_of: &str| {
            let p = TargetPeriod::parse(text).unwrap();
            let s = p.window(Day::new(day(as_of)));
            let (from, to) = s.dates();
            (p.label(), from, to)
        };
        let own = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        // as_of 2024-03-15: data up to 2024-03-14.
        assert_eq!(
            span("last 30 days", "2024-03-15"),
            own("last 30 days", "2024-02-14", "2024-03-14")
        );
        assert_eq!(
            span("Last  Full Month", "2024-03-15"),
            own("last full month", "2024-02-01", "2024-02-29")
        );
        assert_eq!(
            span("last full quarter", "2024-03-15"),
            own("last full quarter", "2023-10-01", "2023-12-31")
        );
        // 2024-03-15 is a Friday; the last full ISO week is Mon 4 – Sun 10 March.
        assert_eq!(
            span("last full week", "2024-03-15"),
            own("last full week", "2024-03-04", "2024-03-10")
        );
        assert_eq!(
            span("quarter", "2024-03-15"),
            own("quarter to date", "2024-01-01", "2024-03-14")
        );
        assert_eq!(
            span("month to date", "2024-03-15"),
            own("month to date", "2024-03-01", "2024-03-14")
        );
        // On the first of a month the month just ended is both full and "to date".
        assert_eq!(
            span("last full month", "2024-04-01"),
            own("last full month", "2024-03-01", "2024-03-31")
        );
        assert_eq!(
            span("month", "2024-04-01"),
            own("month to date", "2024-03-01", "2024-03-31")
        );
        assert_eq!(
            TargetPeriod::parse("last full month")
                .unwrap()
                .window(Day::new(day("2024-04-01")))
                .to,
            day("2024-04-01")
        );
    }

    #[test]
    fn the_interval_rule_calls_a_miss_only_when_the_whole_interval_is_wrong() {
        let rate = |value, low, high| Measured {
            value,
            interval: Some((low, high)),
        };
        let min = target("lead_conversion_rate", Bound::Min(0.30), false);
        let min_ci = target("lead_conversion_rate", Bound::Min(0.30), true);
        // 0.28 (0.25–0.32): below the target, but the interval reaches it.
        assert_eq!(status(&min, Some(&rate(0.28, 0.25, 0.32))), Status::Missed);
        assert_eq!(status(&min_ci, Some(&rate(0.28, 0.25, 0.32))), Status::Ok);
        // 0.20 (0.15–0.26): wholly below.
        assert_eq!(
            status(&min_ci, Some(&rate(0.20, 0.15, 0.26))),
            Status::Missed
        );
        let max_ci = target("churn_rate", Bound::Max(0.05), true);
        assert_eq!(status(&max_ci, Some(&rate(0.07, 0.04, 0.10))), Status::Ok);
        assert_eq!(
            status(&max_ci, Some(&rate(0.09, 0.06, 0.12))),
            Status::Missed
        );
        // Exactly on the target meets it.
        assert_eq!(status(&min, Some(&rate(0.30, 0.2, 0.4))), Status::Ok);
        // Without an interval the value decides; without a value there is no data.
        let plain = Measured {
            value: 0.07,
            interval: None,
        };
        assert_eq!(status(&max_ci, Some(&plain)), Status::Missed);
        assert_eq!(status(&max_ci, None), Status::NoData);
    }

    #[test]
    fn history_replaces_the_same_as_of_and_rejects_other_shapes() {
        let targets = [target("csat", Bound::Min(0.9), false)];
        let run = |v: f64, as_of: &str| {
            let m = [MeasuredKpi {
                kpi: "csat",
                owner: None,
                period: None,
                measured: Measured {
                    value: v,
                    interval: None,
                },
            }];
            table(&targets, &m, Day::parse(as_of).unwrap()).unwrap().0
        };
        let first = run(0.95, "2024-01-01");
        let second = run(0.85, "2024-02-01");
        let h = merge_history(&first, &second, "2024-02-01").unwrap();
        assert_eq!(h.height(), 2);
        let rerun = run(0.80, "2024-02-01");
        let h = merge_history(&h, &rerun, "2024-02-01").unwrap();
        assert_eq!(h.height(), 2, "the same as_of is replaced, not duplicated");
        let values: Vec<Option<f64>> = h.column("value").unwrap().f64().unwrap().iter().collect();
        assert_eq!(values, [Some(0.95), Some(0.80)]);
        let other = DataFrame::new_infer_height(vec![Column::new("x".into(), [1i64])]).unwrap();
        assert!(merge_history(&other, &rerun, "2024-02-01")
            .unwrap_err()
            .contains("not a KPI history"));
    }
}
