#!/usr/bin/env python3
"""Benchmark: `crm-eval abc` and `crm-eval cohort` beside the same queries in DuckDB.

    pip install duckdb
    cargo build --release
    python3 bench/value.py                 # 10 million orders (the data of bench/rfm.py)
    python3 bench/value.py --rows 1000000

Same method as bench/rfm.py (whose data generator and timing it reuses): fastest of N wall-clock
runs, DuckDB's query time without Python start-up, crm-eval's whole process, peak RSS from wait4,
and the two outputs compared before any figure is printed:
- abc: net revenue per customer, ranked by value then customer_id, tiers by the cumulative share of
  the customers ranked above (ties take the tier of the first of them); tiers must agree.
- cohort: monthly retention by first-purchase month; every observed cell must agree to 4 decimals.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rfm import DUCKDB_RUNNER, generate, measure  # noqa: E402

NET = """CASE WHEN status = 'refunded' AND amount > 0 THEN -amount ELSE amount END"""
COUNTED = "(status IS NULL OR status IN ('paid', 'refunded'))"


def abc_sql(source, out):
    return f"""
COPY (
  WITH v AS (
    SELECT customer_id, round(sum(CASE WHEN {COUNTED} THEN {NET} ELSE 0 END), 2) AS value
    FROM {source} GROUP BY customer_id
  ),
  total AS (SELECT sum(value) FILTER (WHERE value > 0) AS t FROM v),
  ranked AS (
    SELECT customer_id, value, CASE WHEN value > 0 THEN value / t ELSE 0 END AS share,
           row_number() OVER (ORDER BY value DESC, customer_id) AS rank
    FROM v, total
  ),
  cum AS (SELECT *, sum(share) OVER (ORDER BY rank) AS cumulative FROM ranked),
  runs AS (SELECT *, first_value(cumulative - share) OVER (PARTITION BY value ORDER BY rank) AS before_run FROM cum)
  SELECT rank, customer_id, value, round(share, 6) AS value_share, round(cumulative, 6) AS cumulative_share,
         CASE WHEN value <= 0 THEN 'C' WHEN before_run < 0.8 - 1e-9 THEN 'A'
              WHEN before_run < 0.95 - 1e-9 THEN 'B' ELSE 'C' END AS tier
  FROM runs ORDER BY rank
) TO '{out}' (HEADER, DELIMITER ',');
"""


def cohort_sql(source, out):
    return f"""
COPY (
  WITH raw AS (SELECT * FROM {source}),
  base AS (
    SELECT customer_id, order_id, order_date, CASE WHEN {COUNTED} THEN {NET} ELSE 0 END AS net FROM raw
  ),
  purchases AS (
    SELECT customer_id, min(order_date) FILTER (WHERE net > 0) AS d
    FROM base GROUP BY customer_id, order_id HAVING sum(net) > 0
  ),
  months AS (SELECT DISTINCT customer_id, year(d) * 12 + month(d) - 1 AS m FROM purchases),
  cohorts AS (SELECT customer_id, min(m) AS c FROM months GROUP BY customer_id),
  sizes AS (SELECT c, count(*) AS n FROM cohorts GROUP BY c),
  cells AS (
    SELECT c, m - c AS k, count(*) AS active FROM months JOIN cohorts USING (customer_id) GROUP BY c, m - c
  )
  SELECT c, k, round(active / n, 4) AS retention FROM cells JOIN sizes USING (c) ORDER BY c, k
) TO '{out}' (HEADER, DELIMITER ',');
"""


def compare_abc(crm_out, duck_out):
    import duckdb

    con = duckdb.connect()
    load = lambda p: f"read_csv('{p}', header=true, all_varchar=true)"
    diff = con.execute(
        f"SELECT count(*) FROM {load(crm_out)} a FULL JOIN {load(duck_out)} b USING (customer_id) "
        "WHERE a.tier IS DISTINCT FROM b.tier OR a.rank IS DISTINCT FROM b.rank"
    ).fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {load(crm_out)}").fetchone()[0]
    return f"{total:,} customers, {diff} differ", diff


def compare_cohort(crm_out, duck_out):
    import duckdb

    con = duckdb.connect()
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    csv_path, parquet_path = generate(args.rows)
    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    print(f"rows: {args.rows:,}  runs: best of {args.runs}  cores: {os.cpu_count()}\n")
    print(f"{'command':8} {'input':8} {'crm-eval s':>11} {'duckdb s':>9} {'ratio':>6} {'crm-eval MiB':>13} {'duckdb MiB':>11}  outputs")
    for name, sql, crm_args, compare in [
        ("abc", abc_sql, ["abc"], compare_abc),
        ("cohort", cohort_sql, ["cohort", "--period", "month"], compare_cohort),
    ]:
        for label, path, source in [
            ("csv", csv_path, f"read_csv('{csv_path}', header=true)"),
            ("parquet", parquet_path, f"read_parquet('{parquet_path}')"),
        ]:
            crm_out = os.path.join(work, f"crm_{name}_{label}.csv")
            duck_out = os.path.join(work, f"duck_{name}_{label}.csv")
            sql_path = os.path.join(work, f"{name}_{label}.sql")
            with open(sql_path, "w") as f:
                f.write(sql(source, duck_out))
            crm_t, crm_m, duck_t, duck_m = [], [], [], []
            for _ in range(args.runs):
                t, mem, _ = measure([args.bin, *crm_args, path, "-q", "-o", crm_out])
                crm_t.append(t)
                crm_m.append(mem)
                _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, sql_path])
                duck_t.append(float(out.decode().strip().splitlines()[-1]))
                duck_m.append(mem)
            verdict, diff = compare(crm_out, duck_out)
            ratio = min(crm_t) / min(duck_t)
            print(f"{name:8} {label:8} {min(crm_t):11.2f} {min(duck_t):9.2f} {ratio:6.2f} {max(crm_m):13.0f} {max(duck_m):11.0f}  {verdict}", flush=True)
            if diff:
                sys.exit(f"outputs differ: compare {crm_out} and {duck_out}")


if __name__ == "__main__":
    main()
