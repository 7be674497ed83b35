#!/usr/bin/env python3
"""Benchmark: `crm-eval abc`, `cohort`, `lifecycle --rates` and `rating` beside the same
definitions in DuckDB SQL.

    pip install duckdb
    cargo build --release
    python3 bench/value.py                          # 10 million orders (the data of bench/rfm.py)
    python3 bench/value.py --rows 1000000 --commands abc,rating

Same method as bench/rfm.py (whose data generator, purchase-rule SQL and timing it reuses):
fastest of N wall-clock runs, DuckDB's query time without Python start-up, crm-eval's whole
process, peak RSS from wait4, and the two outputs compared before any figure is printed. Every
query starts from the purchase rule of docs/metrics.md (`ledger_ctes` in bench/rfm.py):
- abc: net revenue per customer with a purchase, ranked by value then customer_id, tiers by the
  cumulative share of the customers ranked above (ties take the tier of the first of them); ranks
  and tiers must agree.
- cohort: monthly retention by first-purchase month; every observed cell must agree to 4 decimals.
- lifecycle --rates: per complete month [s, e], customers active on s - 1 (a purchase in the 180
  days up to it), retained (also active on e), churned, won, and the two rates; counts exactly.
- rating: the default rules (examples/rating.toml): percentile of value, frequency, recency,
  growth over 365 days and refund rate, weighted; scores to the cent and grades must agree.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rfm import DUCKDB_RUNNER, generate, ledger_ctes, measure  # noqa: E402

CHURN_DAYS = 180


def abc_tiers_sql(out):
    """Ranks, shares and tiers of a `v` CTE (customer_id, value), written to `out`: the tail both
    abc queries share."""
    return f"""  total AS (SELECT sum(value) FILTER (WHERE value > 0) AS t FROM v),
  ranked AS (
    SELECT customer_id, value, CASE WHEN value > 0 THEN value / t ELSE 0 END AS share,
           row_number() OVER (ORDER BY value DESC, customer_id) AS rank
    FROM v, total
  ),
  cum AS (SELECT *, sum(share) OVER (ORDER BY rank) AS cumulative FROM ranked),
  runs AS (SELECT *, first_value(cumulative - share) OVER (PARTITION BY value ORDER BY rank) AS before_run FROM cum)
  SELECT rank, customer_id, value, round(share, 6) AS value_share, round(cumulative, 6) AS cumulative_share,
         CASE WHEN value < 0 THEN 'L' WHEN value = 0 THEN 'C' WHEN before_run < 0.8 - 1e-9 THEN 'A'
              WHEN before_run < 0.95 - 1e-9 THEN 'B' ELSE 'C' END AS tier
  FROM runs ORDER BY rank
) TO '{out}' (HEADER, DELIMITER ',');"""


def abc_sql(source, out):
    return f"""
COPY (
  WITH {ledger_ctes(source)},
  v AS (
    SELECT customer_id, round(monetary, 2)::DOUBLE AS value
    FROM spend WHERE customer_id IN (SELECT customer_id FROM purchases)
  ),
{abc_tiers_sql(out)}"""


def abc_plain_sql(source, out):
    """abc as an analyst writes it for a clean export (unique order IDs, no status, no refunds):
    one GROUP BY customer, no order netting; on a clean file it is the definition too."""
    return f"""
COPY (
  WITH v AS (
    SELECT customer_id, round(sum(amount::DECIMAL(18, 4)), 2)::DOUBLE AS value
    FROM {source} GROUP BY customer_id
  ),
{abc_tiers_sql(out)}"""


def cohort_sql(source, out):
    return f"""
COPY (
  WITH {ledger_ctes(source)},
  months AS (SELECT DISTINCT customer_id, year(order_date) * 12 + month(order_date) - 1 AS m FROM purchases),
  cohorts AS (SELECT customer_id, min(m) AS c FROM months GROUP BY customer_id),
  sizes AS (SELECT c, count(*) AS n FROM cohorts GROUP BY c),
  cells AS (
    SELECT c, m - c AS k, count(*) AS active FROM months JOIN cohorts USING (customer_id) GROUP BY c, m - c
  )
  SELECT c, k, round(active / n, 4) AS retention FROM cells JOIN sizes USING (c) ORDER BY c, k
) TO '{out}' (HEADER, DELIMITER ',');
"""


def lifecycle_sql(source, out):
    # Active on day t: a purchase in (t - 180, t]. A purchase can make a customer active at the
    # start or end of month [s, e] only if it falls in [s - 180, e], hence the range join.
    return f"""
COPY (
  WITH {ledger_ctes(source)},
  bounds AS (SELECT min(order_date) AS first, (SELECT d FROM as_of) - 1 AS last FROM purchases),
  months AS (
    SELECT m, make_date((m // 12)::INT, (m % 12 + 1)::INT, 1) AS s
    FROM bounds, range(year(first) * 12 + month(first) - 1, year(last) * 12 + month(last)) t(m)
  ),
  complete AS (
    SELECT m, s, (s + INTERVAL 1 MONTH)::DATE - 1 AS e FROM months, bounds
    WHERE (s + INTERVAL 1 MONTH)::DATE - 1 <= last
  ),
  flags AS (
    SELECT c.m, p.customer_id,
           bool_or(p.order_date BETWEEN c.s - {CHURN_DAYS} AND c.s - 1) AS before,
           bool_or(p.order_date BETWEEN c.e - {CHURN_DAYS - 1} AND c.e) AS after
    FROM complete c JOIN purchases p ON p.order_date BETWEEN c.s - {CHURN_DAYS} AND c.e
    GROUP BY c.m, p.customer_id
  ),
  agg AS (
    SELECT m, count(*) FILTER (WHERE before) AS at_start,
           count(*) FILTER (WHERE before AND after) AS retained,
           count(*) FILTER (WHERE after AND NOT before) AS won
    FROM flags GROUP BY m
  )
  SELECT strftime(c.s, '%Y-%m') AS period, coalesce(at_start, 0) AS customers_at_start,
         coalesce(retained, 0) AS retained, coalesce(at_start, 0) - coalesce(retained, 0) AS churned,
         coalesce(won, 0) AS won,
         CASE WHEN at_start > 0 THEN round((at_start - retained) / at_start, 4) END AS churn_rate,
         CASE WHEN at_start > 0 THEN round(retained / at_start, 4) END AS retention_rate
  FROM complete c LEFT JOIN agg USING (m) ORDER BY c.m
) TO '{out}' (HEADER, DELIMITER ',');
"""


def rating_sql(source, out):
    # examples/rating.toml: percentile normalisation (the share of customers no better, ties
    # included: cume_dist), weights summed in the order of the file, grades A ≥ 75, B ≥ 50, C ≥ 25.
    return f"""
COPY (
  WITH {ledger_ctes(source)},
  buyers AS (SELECT customer_id, count(*) AS purchases, max(order_date) AS last FROM purchases GROUP BY customer_id),
  money AS (
    SELECT customer_id, sum(net) AS net, sum(CASE WHEN net < 0 THEN -net ELSE 0 END) AS refunded,
           coalesce(sum(net) FILTER (WHERE order_date >= (SELECT d FROM as_of) - 365), 0) AS recent,
           coalesce(sum(net) FILTER (WHERE order_date >= (SELECT d FROM as_of) - 730
                                       AND order_date < (SELECT d FROM as_of) - 365), 0) AS prior
    FROM base GROUP BY customer_id
  ),
  criteria AS (
    SELECT customer_id, round(net, 2)::DOUBLE AS value, purchases::DOUBLE AS frequency,
           ((SELECT d FROM as_of) - last)::DOUBLE AS recency,
           round(recent - prior, 2)::DOUBLE AS growth,
           CASE WHEN net + refunded > 0 THEN refunded::DOUBLE / (net + refunded)::DOUBLE ELSE 0 END AS refund_rate
    FROM buyers JOIN money USING (customer_id)
  ),
  normalised AS (
    SELECT customer_id,
           cume_dist() OVER (ORDER BY value) AS value_score,
           cume_dist() OVER (ORDER BY frequency) AS frequency_score,
           cume_dist() OVER (ORDER BY recency DESC) AS recency_score,
           cume_dist() OVER (ORDER BY growth) AS growth_score,
           cume_dist() OVER (ORDER BY refund_rate DESC) AS refund_rate_score
    FROM criteria
  ),
  scored AS (
    SELECT *, round(100 * (0.35::DOUBLE * value_score + 0.20::DOUBLE * frequency_score
                           + 0.25::DOUBLE * recency_score + 0.10::DOUBLE * growth_score
                           + 0.10::DOUBLE * refund_rate_score), 2) AS score
    FROM normalised
  )
  SELECT customer_id, score,
         CASE WHEN score >= 75 THEN 'A' WHEN score >= 50 THEN 'B' WHEN score >= 25 THEN 'C' ELSE 'D' END AS grade
  FROM scored ORDER BY score DESC, customer_id
) TO '{out}' (HEADER, DELIMITER ',');
"""


def compare_abc(con, crm_out, duck_out):
    load = lambda p: f"read_csv('{p}', header=true, all_varchar=true)"
    diff = con.execute(
        f"SELECT count(*) FROM {load(crm_out)} a FULL JOIN {load(duck_out)} b USING (customer_id) "
        "WHERE a.tier IS DISTINCT FROM b.tier OR a.rank IS DISTINCT FROM b.rank"
    ).fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {load(crm_out)}").fetchone()[0]
    return f"{total:,} customers, {diff} differ", diff


def compare_cohort(con, crm_out, duck_out):
    # crm-eval writes the matrix wide; unpivot it (empty cells are unobserved and drop out).
    ours = f"""(
      SELECT (split_part(cohort, '-', 1)::INT * 12 + split_part(cohort, '-', 2)::INT - 1) AS c,
             replace(k, 'period_', '')::INT AS k, v::DOUBLE AS retention
      FROM (UNPIVOT (SELECT * EXCLUDE (customers) FROM read_csv('{crm_out}', header=true, all_varchar=true))
            ON COLUMNS('period_.*') INTO NAME k VALUE v)
      WHERE v IS NOT NULL AND v <> ''
    )"""
    theirs = f"read_csv('{duck_out}', header=true)"
    # DuckDB only lists cells with buyers; crm-eval also lists observed cells with none (0).
    diff = con.execute(
        f"SELECT count(*) FROM {ours} a FULL JOIN {theirs} b USING (c, k) "
        "WHERE abs(coalesce(a.retention, -1) - coalesce(b.retention, 0)) > 0.00005"
    ).fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {ours}").fetchone()[0]
    return f"{total:,} cells, {diff} differ", diff


def compare_lifecycle(con, crm_out, duck_out):
    load = lambda p: f"read_csv('{p}', header=true, all_varchar=true)"
    diff = con.execute(
        f"SELECT count(*) FROM {load(crm_out)} a FULL JOIN {load(duck_out)} b USING (period) "
        "WHERE a.customers_at_start IS DISTINCT FROM b.customers_at_start "
        "OR a.retained IS DISTINCT FROM b.retained OR a.churned IS DISTINCT FROM b.churned "
        "OR a.won IS DISTINCT FROM b.won "
        "OR abs(coalesce(nullif(a.churn_rate, '')::DOUBLE, -1) - coalesce(nullif(b.churn_rate, '')::DOUBLE, -1)) > 0.00005 "
        "OR abs(coalesce(nullif(a.retention_rate, '')::DOUBLE, -1) - coalesce(nullif(b.retention_rate, '')::DOUBLE, -1)) > 0.00005"
    ).fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {load(crm_out)}").fetchone()[0]
    return f"{total:,} months, {diff} differ", diff


def compare_rating(con, crm_out, duck_out):
    load = lambda p: f"read_csv('{p}', header=true, all_varchar=true)"
    # Floating sums of the weighted percentiles may differ in the last bit; a score may then round
    # a cent apart, and only a score that close to a cut-off may change grade.
    diff = con.execute(
        f"SELECT count(*) FROM {load(crm_out)} a FULL JOIN {load(duck_out)} b USING (customer_id) "
        "WHERE a.score IS NULL OR b.score IS NULL "
        "OR abs(a.score::DOUBLE - b.score::DOUBLE) > 0.0101 "
        "OR (a.grade <> b.grade AND NOT list_contains([75.0, 50.0, 25.0], round(a.score::DOUBLE)))"
    ).fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {load(crm_out)}").fetchone()[0]
    return f"{total:,} customers, {diff} differ", diff


COMMANDS = {
    "abc": (abc_sql, ["abc"], compare_abc),
    "cohort": (cohort_sql, ["cohort", "--period", "month"], compare_cohort),
    "lifecycle": (lifecycle_sql, ["lifecycle", "--rates", "--churn-days", str(CHURN_DAYS)], compare_lifecycle),
    "rating": (rating_sql, ["rating"], compare_rating),
}


def main():
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", default=",".join(COMMANDS))
    parser.add_argument("--data", default="unique", choices=["unique", "clean"],
                        help="unique: with refunds and cancellations (bench/rfm.py's); clean: unique order "
                             "IDs, no status, no refunds, where abc is also timed beside the plain query")
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    csv_path, parquet_path = generate(args.rows, args.data)
    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    con = duckdb.connect()
    print(f"rows: {args.rows:,}  runs: best of {args.runs}  cores: {os.cpu_count()}\n")
    print(f"{'command':10} {'input':8} {'crm-eval s':>11} {'duckdb s':>9} {'ratio':>6} {'plain s':>8} {'ratio':>6} "
          f"{'crm-eval MiB':>13} {'duckdb MiB':>11}  outputs")
    for name in args.commands.split(","):
        sql, crm_args, compare = COMMANDS[name]
        for label, path, source in [
            ("csv", csv_path, f"read_csv('{csv_path}', header=true)"),
            ("parquet", parquet_path, f"read_parquet('{parquet_path}')"),
        ]:
            crm_out = os.path.join(work, f"crm_{name}_{label}.csv")
            duck_out = os.path.join(work, f"duck_{name}_{label}.csv")
            plain_out = os.path.join(work, f"plain_{name}_{label}.csv")
            sql_path = os.path.join(work, f"{name}_{label}.sql")
            plain_path = os.path.join(work, f"plain_{name}_{label}.sql")
            # The same-definition queries read a status; a clean export has none (all paid).
            same = f"(SELECT *, NULL::VARCHAR AS status FROM {source})" if args.data == "clean" else source
            with open(sql_path, "w") as f:
                f.write(sql(same, duck_out))
            plain = name == "abc" and args.data == "clean"
            if plain:
                with open(plain_path, "w") as f:
                    f.write(abc_plain_sql(source, plain_out))
            crm_t, crm_m, duck_t, duck_m, plain_t = [], [], [], [], []
            for _ in range(args.runs):
                t, mem, _ = measure([args.bin, crm_args[0], path, *crm_args[1:], "-q", "-o", crm_out])
                crm_t.append(t)
                crm_m.append(mem)
                _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, sql_path])
                duck_t.append(float(out.decode().strip().splitlines()[-1]))
                duck_m.append(mem)
                if plain:
                    _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, plain_path])
                    plain_t.append(float(out.decode().strip().splitlines()[-1]))
                    duck_m.append(mem)
            verdict, diff = compare(con, crm_out, duck_out)
            if plain:
                plain_verdict, plain_diff = compare(con, crm_out, plain_out)
                verdict += f"; plain query: {plain_verdict}"
                diff = diff or plain_diff
            ratio = min(crm_t) / min(duck_t)
            plain_cols = (f"{min(plain_t):8.2f} {min(crm_t) / min(plain_t):6.2f}" if plain else f"{'':8} {'':6}")
            print(f"{name:10} {label:8} {min(crm_t):11.2f} {min(duck_t):9.2f} {ratio:6.2f} {plain_cols} "
                  f"{max(crm_m):13.0f} {max(duck_m):11.0f}  {verdict}", flush=True)
            if diff:
                sys.exit(f"outputs differ: compare {crm_out} and {duck_out}")


if __name__ == "__main__":
    main()
