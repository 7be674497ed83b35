//! `crm-eval sql rating`.

use super::*;

/// `crm-eval rating` (docs/metrics.md "Rating") with the rules' criteria: per customer with a
/// purchase, value (net spend rounded to cents), frequency (purchases), recency (days since
/// the last purchase), growth (net of the last growth_days before as_of minus the span before,
/// rounded to cents), margin (the rows' signed margins, rounded to cents; read only when
/// weighted), refund_rate (refunded ÷ paid), each normalised — percentile: `cume_dist()` over the
/// customers, the share no better; min-max — then 100 × the weighted sum in the rules' order,
/// rounded to cents as the command rounds its float; customers of `customers` without a purchase
/// score 0. By score, highest first, then customer_id.
pub fn rating(s: &Source, rules: &RatingRules, customers: Option<&str>) -> String {
    let d = s.dialect;
    let double = d.double();
    let with_margin = rules.weights.iter().any(|(c, _)| *c == Criterion::Margin);
    let s = &Source {
        order_margin: with_margin,
        ..s.clone()
    };
    let margin_sum = if with_margin {
        ",\n         sum(b.margin) AS margin"
    } else {
        ""
    };
    let raw = |c: Criterion| -> String {
        match c {
            Criterion::Value => format!("CAST(round(n.net, 2) AS {double})"),
            Criterion::Frequency => format!("CAST(f.purchases AS {double})"),
            Criterion::Recency => format!("CAST({} AS {double})", d.days_between("as_of.d", "f.last_day")),
            Criterion::Growth => format!("CAST(round(n.recent - n.prior, 2) AS {double})"),
            Criterion::RefundRate => format!(
                "CASE WHEN n.net + n.refunded > 0 \
                 THEN CAST(n.refunded AS {double}) / CAST(n.net + n.refunded AS {double}) ELSE 0 END"
            ),
            Criterion::Margin => format!("CAST(round(n.margin, 2) AS {double})"),
        }
    };
    let normalised = |c: Criterion| -> String {
        let x = format!("raw_{}", c.name());
        let (order, oriented) = if c.lower_is_better() {
            ("DESC", format!("-{x}"))
        } else {
            ("", x.clone())
        };
        match rules.normalise {
            Normalise::Percentile => format!("cume_dist() OVER (ORDER BY {x} {order})"),
            Normalise::MinMax => format!(
                "CASE WHEN max({o}) OVER () > min({o}) OVER () \
                 THEN ({o} - min({o}) OVER ()) / (max({o}) OVER () - min({o}) OVER ()) ELSE 1.0 END",
                o = oriented
            ),
        }
    };
    let criteria: Vec<Criterion> = rules.weights.iter().map(|(c, _)| *c).collect();
    let raws: Vec<String> = criteria
        .iter()
        .map(|&c| format!("{} AS raw_{}", raw(c), c.name()))
        .collect();
    let norms: Vec<String> = criteria
        .iter()
        .map(|&c| format!("{} AS v_{}", normalised(c), c.name()))
        .collect();
    // 0 + w1 × v1 + w2 × v2 …, left to right as the command's sum.
    let weighted: String = rules
        .weights
        .iter()
        .map(|(c, w)| format!(" + {w:?} * v_{}", c.name()))
        .collect();
    let round = |x: &str, factor: &str| {
        format!("{} / {factor}", round_half_away(&format!("{x} * {factor}")))
    };
    let score = round("raw_score", "100");
    let grade_arms: Vec<String> = rules
        .grades
        .iter()
        .map(|g| format!("WHEN score >= {:?} THEN {}", g.min_score, quote(&g.grade)))
        .collect();
    let last_grade = rules
        .grades
        .last()
        .map_or("''".to_string(), |g| quote(&g.grade));
    let outputs: Vec<String> = criteria
        .iter()
        .map(|c| {
            format!(
                "{} AS {}_score",
                round(&format!("v_{}", c.name()), "10000"),
                c.name()
            )
        })
        .collect();
    let extras = match customers {
        Some(table) => {
            let zeros: Vec<String> = criteria
                .iter()
                .map(|c| format!("CAST(0 AS {double}) AS v_{}", c.name()))
                .collect();
            format!(
                "
  UNION ALL
  SELECT DISTINCT k.customer_id, {zeros}
  FROM ({table}) k
  WHERE k.customer_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM buyers b WHERE b.customer_id = k.customer_id)",
                zeros = zeros.join(", "),
                table = s.customers(table)
            )
        }
        None => String::new(),
    };
    let v_columns: Vec<String> = criteria.iter().map(|c| format!("v_{}", c.name())).collect();
    format!(
        "WITH {ledger},
buyers AS (
  SELECT customer_id, max(order_date) AS last_day, count(*) AS purchases
  FROM purchases GROUP BY customer_id
),
nets AS (
  SELECT b.customer_id, sum(b.net) AS net,
         sum(CASE WHEN b.net < 0 THEN -b.net ELSE 0 END) AS refunded,
         sum(CASE WHEN b.order_date >= {recent_start} THEN b.net ELSE 0 END) AS recent,
         sum(CASE WHEN b.order_date >= {prior_start} AND b.order_date < {recent_start}
                  THEN b.net ELSE 0 END) AS prior{margin_sum}
  FROM base b CROSS JOIN as_of GROUP BY b.customer_id
),
raws AS (
  SELECT f.customer_id, {raws}
  FROM buyers f JOIN nets n ON n.customer_id = f.customer_id CROSS JOIN as_of
),
normalised AS (
  SELECT customer_id, {norms} FROM raws{extras}
),
weighted AS (SELECT customer_id, {v_columns}, 100 * (0{weighted}) AS raw_score FROM normalised),
scored AS (SELECT customer_id, {v_columns}, {score} AS score FROM weighted)
SELECT customer_id, score,
       CASE {grade_arms} ELSE {last_grade} END AS grade,
       {outputs}
FROM scored
ORDER BY score DESC, {by_id}",
        ledger = ledger_ctes(s),
        recent_start = d.plus_days("as_of.d", -rules.growth_days),
        prior_start = d.plus_days("as_of.d", -2 * rules.growth_days),
        raws = raws.join(", "),
        norms = norms.join(", "),
        v_columns = v_columns.join(", "),
        grade_arms = grade_arms.join(" "),
        outputs = outputs.join(", "),
        by_id = d.bytewise("customer_id"),
    )
}
