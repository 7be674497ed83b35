//! `crm-eval sql rfm`.

use super::*;

/// `crm-eval rfm` (docs/metrics.md "RFM") with the command's options: frequency as purchases or
/// purchase days; each score by quantiles (`rank()`: rank − 1 is the number of customers
/// strictly worse, so ties share a score as the command's tie rule) or by breakpoints (1 + the
/// breaks below the value; recency: levels − the breaks it exceeds, monetary compared as the
/// command's rounded double); the segment table in its order, on the 5-point grid for the
/// built-in table (`grid_score`, the command's mapping) and on the raw scores for a config's.
/// Columns as the command's.
pub fn rfm(s: &Source, opts: &RfmOptions) -> String {
    let d = s.dialect;
    let double = d.double();
    let segments: Vec<String> = opts
        .segments
        .iter()
        .map(|rule| {
            let mut tests = Vec::new();
            for (column, range) in [
                ("r5", rule.r),
                ("f5", rule.f),
                ("m5", rule.m),
                ("fm", rule.fm),
            ] {
                if let Some([lo, hi]) = range {
                    tests.push(format!("{column} BETWEEN {lo} AND {hi}"));
                }
            }
            if tests.is_empty() {
                tests.push("1 = 1".to_string());
            }
            format!(
                "    WHEN {} THEN {}",
                tests.join(" AND "),
                quote(&rule.name)
            )
        })
        .collect();
    let score = |scoring: &Scoring, value: &str, better_high: bool| match scoring {
        Scoring::Quantile { bins } => {
            let order = if better_high {
                value.to_string()
            } else {
                format!("{value} DESC")
            };
            format!("CAST(1 + floor({bins} * (rank() OVER (ORDER BY {order}) - 1) / n.n) AS INT)")
        }
        Scoring::Breaks(breaks) => {
            let above: Vec<String> = breaks
                .iter()
                .map(|b| format!("CASE WHEN CAST({value} AS {double}) > {b:?} THEN 1 ELSE 0 END"))
                .collect();
            if better_high {
                format!("CAST(1 + {} AS INT)", above.join(" + "))
            } else {
                format!(
                    "CAST({} - ({}) AS INT)",
                    breaks.len() + 1,
                    above.join(" + ")
                )
            }
        }
    };
    let text = d.text();
    // Scores on the 5-point grid of the built-in segments (the command's mapping).
    let grid = |column: &str, scoring: &Scoring| -> String {
        let levels = scoring.levels();
        if !opts.default_segments || levels == 5 {
            return column.to_string();
        }
        let arms: Vec<String> = (1..=levels)
            .map(|k| format!("WHEN {k} THEN {}", grid_score(k, levels)))
            .collect();
        format!("CASE {column} {} END", arms.join(" "))
    };
    let frequency = match opts.frequency {
        FrequencyBasis::Orders => "count(*)",
        FrequencyBasis::Days => "count(DISTINCT order_date)",
    };
    format!(
        "WITH {ledger},
per_customer AS (
  SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
         {frequency} AS frequency
  FROM purchases GROUP BY customer_id
),
joined AS (
  SELECT p.customer_id, p.first_order_date, p.last_order_date,
         {recency} AS recency_days, p.frequency,
         CAST(round(s.monetary, 2) AS {double}) AS monetary
  FROM per_customer p JOIN spend s ON s.customer_id = p.customer_id CROSS JOIN as_of
),
n AS (SELECT count(*) AS n FROM joined),
scored AS (
  SELECT joined.*, {r} AS r_score, {f} AS f_score, {m} AS m_score
  FROM joined CROSS JOIN n
),
on_grid AS (SELECT scored.*, {r5} AS r5, {f5} AS f5, {m5} AS m5 FROM scored),
graded AS (SELECT on_grid.*, CAST(floor((f5 + m5 + 1) / 2) AS INT) AS fm FROM on_grid)
SELECT customer_id, first_order_date, last_order_date, recency_days, frequency, monetary,
       r_score, f_score, m_score,
       concat(CAST(r_score AS {text}), CAST(f_score AS {text}), CAST(m_score AS {text})) AS rfm_code,
       CASE
{segments}
    ELSE {other} END AS segment
FROM graded
ORDER BY {by_id}",
        ledger = ledger_ctes(s),
        recency = d.days_between("as_of.d", "p.last_order_date"),
        r = score(&opts.r_scoring, "recency_days", false),
        f = score(&opts.f_scoring, "frequency", true),
        m = score(&opts.m_scoring, "monetary", true),
        segments = segments.join("\n"),
        other = quote(UNMATCHED_SEGMENT),
        by_id = d.bytewise("customer_id"),
        r5 = grid("r_score", &opts.r_scoring),
        f5 = grid("f_score", &opts.f_scoring),
        m5 = grid("m_score", &opts.m_scoring),
    )
}
