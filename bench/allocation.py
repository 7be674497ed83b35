#!/usr/bin/env python3
"""Benchmark: `crm-eval conversion` and `crm-eval recovery` beside the same logic in DuckDB SQL.

    pip install duckdb
    cargo build --release
    python3 bench/allocation.py                  # 1M customers, ~5M events, 10M orders
    python3 bench/allocation.py --rows 1000000   # 100k customers, ~0.5M events, 1M orders

Data: the orders of bench/rfm.py (`--rows` order rows for rows/10 customers, 2022-2024, 3 %
refunds, 4 % cancellations, one row per order) and an ownership log generated here for the same
customers: 1-9 events each (about 5 on average), strictly increasing times, alternating a hand-out
(assign or claim; the first is always an assign) and an ending (recycle, release, or a transfer to
another owner), 200 owners, 3 pools, 2 recycle reasons; events from 2025-01-01 on are dropped.

The SQL restates the rules of docs/input.md ("Ownership events") independently of the Rust code: a
spell runs from an assign/claim/transfer to the customer's next event; a recycle/release leaves
its day covered, a hand-over does not; a spell matures when start + window < as_of and converts
with a purchase (an order with positive net) on a day in [start, min(start + window + 1, cover
end)); a return to the pool is recovered by a purchase within the window of the next spell, and the
buyer is loyal when they buy again within the window after that purchase.

Method as bench/rfm.py: fastest of N wall-clock runs; DuckDB's query alone (no Python start-up),
crm-eval's whole process (both read the same CSV files); peak RSS from wait4; the per-owner tables
are compared (counts exactly, medians and money to the cent) before any figure is printed.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rfm import DATA, DUCKDB_RUNNER, generate, ledger_ctes, measure  # noqa: E402

AS_OF = "2025-01-01"
AS_OF_DAY = 20089  # days from 1970-01-01 to 2025-01-01


def generate_events(rows):
    import duckdb

    path = os.path.join(DATA, f"events_{rows}.csv")
    if os.path.exists(path):
        return path
    customers = max(1, rows // 10)
    print(f"generating the ownership log of {customers:,} customers in {DATA} ...", flush=True)
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          WITH c AS (
            SELECT i, 'C' || lpad(i::VARCHAR, 8, '0') AS customer_id, 1 + hash(i * 3 + 1) % 9 AS n,
                   TIMESTAMP '2022-01-01' + to_seconds((hash(i * 5 + 2) % (900 * 86400))::BIGINT) AS t0
            FROM range({customers}) t(i)
          ),
          e AS (
            SELECT c.i, c.customer_id, j,
                   -- gaps of 1 hour to ~60 days; the running sum keeps times strictly increasing
                   t0 + to_seconds(sum(3600 + hash(c.i * 101 + j) % (60 * 86400))
                                     OVER (PARTITION BY c.i ORDER BY j)::BIGINT) AS event_time,
                   hash(c.i * 7 + j * 13) % 100 AS roll
            FROM c, range(9) r(j) WHERE j < c.n
          )
          SELECT customer_id,
                 strftime(event_time, '%Y-%m-%d %H:%M:%S') AS event_time,
                 CASE WHEN j = 0 THEN 'assign'
                      WHEN j % 2 = 0 THEN CASE WHEN roll < 70 THEN 'claim' ELSE 'assign' END
                      WHEN roll < 55 THEN 'recycle' WHEN roll < 70 THEN 'release' ELSE 'transfer' END AS event,
                 'owner_' || lpad((hash(i * 11 + j * 17) % 200)::VARCHAR, 3, '0') AS owner,
                 CASE WHEN j % 2 = 1 AND roll < 55 THEN
                      CASE WHEN roll % 2 = 0 THEN 'no_followup' ELSE 'no_deal' END END AS reason,
                 'pool_' || (hash(i) % 3)::VARCHAR AS pool
          FROM e WHERE event_time < TIMESTAMP '{AS_OF}'
          ORDER BY event_time, customer_id
        ) TO '{path}' (HEADER, DELIMITER ',')
        """
    )
    n = con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchone()[0]
    print(f"  {n:,} events", flush=True)
    return path


def common_sql(events, orders, window):
    """CTEs shared by both queries: spells, returns, purchases and counted rows (days since 1970)."""
    return f"""
  ev AS (
    SELECT customer_id, event, owner, event_time,
           lead(event_time) OVER w AS next_time, lead(event) OVER w AS next_event,
           min(CASE WHEN event IN ('assign', 'claim', 'transfer') THEN event_time END)
             OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_spell_time
    FROM read_csv('{events}', header=true, timestampformat='%Y-%m-%d %H:%M:%S')
    WHERE event_time < TIMESTAMP '{AS_OF}'
    WINDOW w AS (PARTITION BY customer_id ORDER BY event_time)
  ),
  spells AS (
    SELECT customer_id, owner, event_time AS start_time,
           floor(epoch(event_time) / 86400)::INT AS start,
           CASE WHEN next_time IS NULL THEN {AS_OF_DAY}
                WHEN next_event IN ('recycle', 'release') THEN floor(epoch(next_time) / 86400)::INT + 1
                ELSE floor(epoch(next_time) / 86400)::INT END AS cover_end
    FROM ev WHERE event IN ('assign', 'claim', 'transfer')
  ),
  {ledger_ctes(f"read_csv('{orders}', header=true)", AS_OF)},
  purch AS (SELECT customer_id, (order_date - DATE '1970-01-01')::INT AS d FROM purchases),
  counted AS (SELECT customer_id, (order_date - DATE '1970-01-01')::INT AS d, net FROM base)
"""


def conversion_sql(events, orders, window, out):
    return f"""
COPY (
  WITH {common_sql(events, orders, window)},
  sp AS (
    SELECT row_number() OVER () AS sid, customer_id, owner, start,
           least(start + {window} + 1, cover_end) AS until, start + {window} < {AS_OF_DAY} AS matured
    FROM spells
  ),
  firsts AS (
    SELECT sid, min(p.d) AS first FROM sp JOIN purch p USING (customer_id)
    WHERE sp.matured AND p.d >= sp.start AND p.d < sp.until GROUP BY sid
  ),
  revenue AS (
    SELECT sid, sum(r.net) AS revenue FROM sp JOIN firsts USING (sid) JOIN counted r USING (customer_id)
    WHERE r.d >= sp.start AND r.d < sp.until GROUP BY sid
  ),
  o AS (
    SELECT sp.owner, sp.matured, f.first IS NOT NULL AS converted, f.first - sp.start AS days,
           coalesce(r.revenue, 0) AS revenue
    FROM sp LEFT JOIN firsts f USING (sid) LEFT JOIN revenue r USING (sid)
  )
  SELECT owner, count(*) AS spells, count(*) FILTER (WHERE matured) AS matured,
         count(*) FILTER (WHERE converted) AS converted, median(days) AS median_days_to_conversion,
         round(sum(revenue), 2) AS converted_revenue
  FROM o GROUP BY owner ORDER BY owner
) TO '{out}' (HEADER, DELIMITER ',');
"""


def recovery_sql(events, orders, window, out):
    return f"""
COPY (
  WITH {common_sql(events, orders, window)},
  ep AS (
    SELECT row_number() OVER () AS eid, r.customer_id, floor(epoch(r.event_time) / 86400)::INT AS day,
           s.owner, s.start, s.cover_end
    FROM ev r LEFT JOIN spells s ON s.customer_id = r.customer_id AND s.start_time = r.next_spell_time
    WHERE r.event IN ('recycle', 'release')
  ),
  e2 AS (
    SELECT *, coalesce(start, day) + {window} < {AS_OF_DAY} AS matured,
           least(start + {window} + 1, cover_end) AS until
    FROM ep
  ),
  firsts AS (
    SELECT eid, min(p.d) AS first FROM e2 JOIN purch p USING (customer_id)
    WHERE e2.matured AND e2.start IS NOT NULL AND p.d >= e2.start AND p.d < e2.until GROUP BY eid
  ),
  value AS (
    SELECT eid, sum(r.net) AS value FROM e2 JOIN firsts USING (eid) JOIN counted r USING (customer_id)
    WHERE r.d >= e2.start AND r.d < e2.until GROUP BY eid
  ),
  loyal AS (
    SELECT eid, count(p.d) > 0 AS repurchased FROM e2 JOIN firsts f USING (eid) JOIN purch p USING (customer_id)
    WHERE f.first + {window} < {AS_OF_DAY} AND p.d > f.first AND p.d <= f.first + {window} GROUP BY eid
  ),
  o AS (
    SELECT coalesce(e2.owner, '(pool)') AS owner, e2.matured, e2.matured AND e2.start IS NOT NULL AS reclaimed,
           f.first IS NOT NULL AS recovered, f.first - e2.start AS days, coalesce(v.value, 0) AS value,
           f.first IS NOT NULL AND f.first + {window} < {AS_OF_DAY} AS judged, coalesce(l.repurchased, false) AS repurchased
    FROM e2 LEFT JOIN firsts f USING (eid) LEFT JOIN value v USING (eid) LEFT JOIN loyal l USING (eid)
  )
  SELECT owner, count(*) AS episodes, count(*) FILTER (WHERE matured) AS matured,
         count(*) FILTER (WHERE reclaimed) AS reclaimed, count(*) FILTER (WHERE recovered) AS recovered,
         median(days) AS median_days_to_recovery, round(sum(value), 2) AS value_added,
         count(*) FILTER (WHERE judged) AS loyalty_base, count(*) FILTER (WHERE repurchased) AS repurchased
  FROM o GROUP BY owner ORDER BY owner
) TO '{out}' (HEADER, DELIMITER ',');
"""


def compare(crm_out, duck_out, counts, money, median):
    """Joins the two per-owner tables; counts must be equal, money and medians within a cent."""
    import duckdb

    con = duckdb.connect()
    ours = f"(SELECT * FROM read_csv('{crm_out}', header=true) WHERE owner <> 'all')"
    theirs = f"read_csv('{duck_out}', header=true)"
    checks = [f"a.{c} IS DISTINCT FROM b.{c}" for c in counts]
    checks += [f"abs(coalesce(a.{c}, -1) - coalesce(b.{c}, -1)) > 0.011" for c in [money, median]]
    diff = con.execute(
        f"SELECT count(*) FROM {ours} a FULL JOIN {theirs} b USING (owner) WHERE {' OR '.join(checks)}"
    ).fetchone()[0]
    owners = con.execute(f"SELECT count(*) FROM {ours}").fetchone()[0]
    total = con.execute(f"SELECT sum({counts[0]}) FROM {ours}").fetchone()[0]
    return f"{owners} owners, {total:,} {counts[0]}, {diff} owners differ", diff


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="order rows (customers = rows / 10)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window", type=int, default=90)
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    orders, _ = generate(args.rows, "unique")
    events = generate_events(args.rows)
    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    print(f"orders: {args.rows:,}  window: {args.window} days  as_of: {AS_OF}  runs: best of {args.runs}  cores: {os.cpu_count()}\n")
    print(f"{'command':10} {'crm-eval s':>11} {'duckdb s':>9} {'ratio':>6} {'crm-eval MiB':>13} {'duckdb MiB':>11}  outputs")
    for name, sql, cols in [
        ("conversion", conversion_sql, (["spells", "matured", "converted"], "converted_revenue", "median_days_to_conversion")),
        ("recovery", recovery_sql, (["episodes", "matured", "reclaimed", "recovered", "loyalty_base", "repurchased"],
                                    "value_added", "median_days_to_recovery")),
    ]:
        crm_out = os.path.join(work, f"crm_{name}.csv")
        duck_out = os.path.join(work, f"duck_{name}.csv")
        sql_path = os.path.join(work, f"{name}.sql")
        with open(sql_path, "w") as f:
            f.write(sql(events, orders, args.window, duck_out))
        argv = [args.bin, name, "--events", events, "--orders", orders, "--window", str(args.window),
                "--as-of", AS_OF, "-q", "-o", crm_out]
        crm_t, crm_m, duck_t, duck_m = [], [], [], []
        for _ in range(args.runs):
            t, mem, _ = measure(argv)
            crm_t.append(t)
            crm_m.append(mem)
            _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, sql_path])
            duck_t.append(float(out.decode().strip().splitlines()[-1]))
            duck_m.append(mem)
        verdict, diff = compare(crm_out, duck_out, *cols)
        ratio = min(crm_t) / min(duck_t)
        print(f"{name:10} {min(crm_t):11.2f} {min(duck_t):9.2f} {ratio:6.2f} {max(crm_m):13.0f} {max(duck_m):11.0f}  {verdict}", flush=True)
        if diff:
            sys.exit(f"outputs differ: compare {crm_out} and {duck_out}")


if __name__ == "__main__":
    main()
