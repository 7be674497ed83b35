#!/usr/bin/env python3
"""Benchmark: `crm-eval rfm` beside the same query in DuckDB, on CSV and on Parquet.

    pip install duckdb
    cargo build --release
    python3 bench/rfm.py                 # 10 million orders (default)
    python3 bench/rfm.py --rows 1000000  # quicker

It generates the orders once (with DuckDB, deterministic hashes, into bench/data/), then for each
format runs crm-eval and DuckDB three times each and keeps the fastest wall-clock time. Both
write the per-customer RFM table (about a million rows) to a CSV file, and both implement the
same definitions (docs/metrics.md): cancelled rows dropped, refunds negative, rows netted per order,
purchases = orders with positive net or free orders never refunded, money as exact decimals,
scores 1 + floor(5 × strictly-worse / n), the default segment grid. Python polars runs the plain
per-customer group-by (no netting) on the same file, the floor for any polars-based pipeline. The two outputs are then
compared row by row, so the timing is of two programs that agree.

Peak memory is the maximum resident set size of each process (from wait4). DuckDB runs in a
fresh Python process; its time is the query alone (the `import duckdb` is excluded), which
favours DuckDB slightly. crm-eval's time is the whole process.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")

# The default segment grid of crm-eval (src/metrics/rfm.rs), first match wins.
SEGMENTS = [
    ("Champions", (5, 5), (4, 5)),
    ("Champions", (4, 4), (5, 5)),
    ("Loyal", (4, 4), (4, 4)),
    ("Loyal", (3, 3), (4, 5)),
    ("Potential Loyalist", (4, 5), (2, 3)),
    ("New", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need Attention", (3, 3), (3, 3)),
    ("About to Sleep", (3, 3), (1, 2)),
    ("At Risk", (2, 2), (3, 4)),
    ("At Risk", (1, 1), (3, 3)),
    ("Can't Lose Them", (2, 2), (5, 5)),
    ("Can't Lose Them", (1, 1), (4, 5)),
    ("Hibernating", (2, 2), (1, 2)),
    ("Lost", (1, 1), (1, 2)),
]


def segment_case():
    arms = []
    for name, (r_lo, r_hi), (fm_lo, fm_hi) in SEGMENTS:
        quoted = name.replace("'", "''")
        arms.append(
            f"WHEN r_score BETWEEN {r_lo} AND {r_hi} AND fm BETWEEN {fm_lo} AND {fm_hi} THEN '{quoted}'"
        )
    return "CASE " + " ".join(arms) + " ELSE 'Other' END"


def ledger_ctes(source, as_of=None):
    """docs/metrics.md "Orders and purchases" as DuckDB CTEs, shared by every benchmark: `as_of`
    (the day after the latest order date), `base` (order rows before as_of with their exact net:
    cancelled and unpaid rows dropped, refunded positive amounts negated), `spend` (net per
    customer), `purchases` (customer_id, order_date of every purchase: an order, i.e. the rows of
    one order ID or a row without one, with net > 0 dated by its earliest positive row, or with net
    = 0 and no refund row, dated by its earliest row). `as_of` (YYYY-MM-DD) fixes the date."""
    as_of_sql = f"SELECT DATE '{as_of}' AS d" if as_of else "SELECT max(order_date) + 1 AS d FROM raw"
    return f"""
  raw AS (SELECT * FROM {source}),
  as_of AS ({as_of_sql}),
  base AS (
    SELECT customer_id, order_id, order_date,
           CASE WHEN status = 'refunded' AND amount > 0 THEN -amount ELSE amount END AS net,
           coalesce(status = 'refunded', false) AS refunded_status
    FROM (SELECT * REPLACE (amount::DECIMAL(18, 4) AS amount) FROM raw) r, as_of
    WHERE (status IS NULL OR status IN ('paid', 'refunded')) AND order_date < as_of.d
  ),
  spend AS (SELECT customer_id, sum(net) AS monetary FROM base GROUP BY customer_id),
  purchases AS (
    SELECT customer_id,
           CASE WHEN sum(net) > 0 THEN min(order_date) FILTER (WHERE net > 0)
                ELSE min(order_date) END AS order_date
    FROM base WHERE order_id IS NOT NULL GROUP BY customer_id, order_id
    HAVING sum(net) > 0 OR (sum(net) = 0 AND NOT bool_or(refunded_status OR net < 0))
    UNION ALL
    SELECT customer_id, order_date FROM base
    WHERE order_id IS NULL AND (net > 0 OR (net = 0 AND NOT refunded_status))
  )"""


def scores_sql(out):
    """The scores, codes and segments of a `joined` CTE (customer_id, first/last order date,
    recency_days, frequency, monetary), written to `out`: the tail both rfm queries share."""
    return f"""  n AS (SELECT count(*) AS n FROM joined),
  scored AS (
    SELECT joined.*,
      (1 + floor(5 * (rank() OVER (ORDER BY recency_days DESC) - 1) / n))::INT AS r_score,
      (1 + floor(5 * (rank() OVER (ORDER BY frequency) - 1) / n))::INT AS f_score,
      (1 + floor(5 * (rank() OVER (ORDER BY monetary) - 1) / n))::INT AS m_score
    FROM joined, n
  ),
  graded AS (SELECT *, (f_score + m_score + 1) // 2 AS fm FROM scored)
  SELECT customer_id, first_order_date, last_order_date, recency_days, frequency, monetary,
         r_score, f_score, m_score,
         r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_code,
         {segment_case()} AS segment
  FROM graded ORDER BY customer_id
) TO '{out}' (HEADER, DELIMITER ',');
"""


def rfm_sql(source, out):
    return f"""
COPY (
  WITH {ledger_ctes(source)},
  per_customer AS (
    SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
           count(*) AS frequency
    FROM purchases GROUP BY customer_id
  ),
  joined AS (
    SELECT p.*, (SELECT d FROM as_of) - p.last_order_date AS recency_days,
           round(s.monetary, 2)::DOUBLE AS monetary
    FROM per_customer p JOIN spend s USING (customer_id)
  ),
{scores_sql(out)}"""


def plain_rfm_sql(source, out):
    """The query an analyst writes for a clean export (unique order IDs, no status, no refunds):
    one per-customer GROUP BY and the three ranks, no order netting. On a clean file it gives
    crm-eval's answer, so the outputs are compared as for the same-definition query."""
    return f"""
COPY (
  WITH raw AS (SELECT * REPLACE (amount::DECIMAL(18, 4) AS amount) FROM {source}),
  as_of AS (SELECT max(order_date) + 1 AS d FROM raw),
  joined AS (
    SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
           (SELECT d FROM as_of) - max(order_date) AS recency_days, count(*) AS frequency,
           round(sum(amount), 2)::DOUBLE AS monetary
    FROM raw GROUP BY customer_id
  ),
{scores_sql(out)}"""


def generate(rows, kind):
    """`unique`: one row per order, unique order IDs, statuses paid/refunded/cancelled (a refunded
    row is a refund-only order). `lines`: invoice lines, about three per order ID, with refund
    lines of earlier orders (same order ID, a later date, part or all of the line), cancelled
    lines, zero-amount lines and half-cent amounts. `clean`: what a clean export looks like —
    one row per order, unique order IDs, positive amounts, no status column."""
    import duckdb

    os.makedirs(DATA, exist_ok=True)
    suffix = {"unique": "", "lines": "_lines", "clean": "_clean"}[kind]
    csv_path = os.path.join(DATA, f"orders{suffix}_{rows}.csv")
    parquet_path = os.path.join(DATA, f"orders{suffix}_{rows}.parquet")
    if os.path.exists(csv_path) and os.path.exists(parquet_path):
        return csv_path, parquet_path
    customers = max(1, rows // 10)
    print(f"generating {rows:,} {kind} order rows for {customers:,} customers in {DATA} ...", flush=True)
    con = duckdb.connect()
    if kind == "clean":
        select = f"""
        SELECT 'O' || lpad(i::VARCHAR, 10, '0') AS order_id,
               'C' || lpad((hash(i) % {customers})::VARCHAR, 8, '0') AS customer_id,
               DATE '2022-01-01' + (hash(i * 7 + 1) % 1096)::INT AS order_date,
               round(10 + (hash(i * 13 + 5) % 100000) / 100.0, 2) AS amount
        FROM range({rows}) t(i)"""
    elif kind == "unique":
        select = f"""
        SELECT 'O' || lpad(i::VARCHAR, 10, '0') AS order_id,
               'C' || lpad((hash(i) % {customers})::VARCHAR, 8, '0') AS customer_id,
               DATE '2022-01-01' + (hash(i * 7 + 1) % 1096)::INT AS order_date,
               round(10 + (hash(i * 13 + 5) % 100000) / 100.0, 2) AS amount,
               CASE WHEN hash(i * 31 + 7) % 100 < 93 THEN 'paid'
                    WHEN hash(i * 31 + 7) % 100 < 96 THEN 'refunded'
                    ELSE 'cancelled' END AS status
        FROM range({rows}) t(i)"""
    else:
        # Order o = i // 3 belongs to one customer and one day; 5 % of lines are refunds dated up
        # to 30 days later (status refunded, amount positive), 3 % cancelled, 1 % free lines.
        select = f"""
        SELECT 'O' || lpad((i // 3)::VARCHAR, 10, '0') AS order_id,
               'C' || lpad((hash(i // 3) % {customers})::VARCHAR, 8, '0') AS customer_id,
               DATE '2022-01-01' + (hash((i // 3) * 7 + 1) % 1096)::INT
                 + CASE WHEN hash(i * 31 + 7) % 100 < 5 THEN (hash(i) % 30)::INT ELSE 0 END AS order_date,
               CASE WHEN hash(i * 31 + 7) % 100 >= 98 THEN 0
                    ELSE round(1 + (hash(i * 13 + 5) % 1000000) / 10000.0, 4) END AS amount,
               CASE WHEN hash(i * 31 + 7) % 100 < 5 THEN 'refunded'
                    WHEN hash(i * 31 + 7) % 100 < 8 THEN 'cancelled'
                    ELSE 'paid' END AS status
        FROM range({rows}) t(i)"""
    con.execute(f"CREATE TABLE orders AS {select}")
    con.execute(f"COPY orders TO '{csv_path}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY orders TO '{parquet_path}' (FORMAT PARQUET)")
    return csv_path, parquet_path


# Python polars doing the plain per-customer group-by (no order netting): max/min date, count,
# sum, three ranks, CSV out. The floor for a polars-based tool on the same file.
POLARS_RUNNER = """
import sys, time
start = time.perf_counter()
import polars as pl
path, out = sys.argv[1], sys.argv[2]
df = pl.read_parquet(path) if path.endswith(".parquet") else pl.read_csv(path, try_parse_dates=True)
g = df.group_by("customer_id").agg(
    pl.col("order_date").max().alias("last"), pl.col("order_date").min().alias("first"),
    pl.len().alias("frequency"), pl.col("amount").sum().alias("monetary"))
g = g.with_columns(
    pl.col("last").rank("min").alias("r"), pl.col("frequency").rank("min").alias("f"),
    pl.col("monetary").rank("min").alias("m")).sort("customer_id")
g.write_csv(out)
print(time.perf_counter() - start)
"""


def measure(argv):
    """Wall time and peak RSS of one process, via os.wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024.0, stdout


DUCKDB_RUNNER = """
import sys, time, duckdb
sql = open(sys.argv[1]).read()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
start = time.perf_counter()
con.execute(sql)
print(time.perf_counter() - start)
"""


def compare(crm_out, duck_out):
    import duckdb

    con = duckdb.connect()
    cols = "customer_id, first_order_date, last_order_date, recency_days, frequency, r_score, f_score, m_score, rfm_code, segment"
    load = lambda p: f"(SELECT {cols}, monetary FROM read_csv('{p}', header=true, all_varchar=true))"
    diff = con.execute(
        f"""
        SELECT count(*) FROM {load(crm_out)} a FULL OUTER JOIN {load(duck_out)} b USING (customer_id)
        WHERE a.segment IS DISTINCT FROM b.segment OR a.rfm_code IS DISTINCT FROM b.rfm_code
           OR a.recency_days IS DISTINCT FROM b.recency_days OR a.frequency IS DISTINCT FROM b.frequency
           OR a.last_order_date IS DISTINCT FROM b.last_order_date
           OR a.first_order_date IS DISTINCT FROM b.first_order_date
           OR abs(a.monetary::DOUBLE - b.monetary::DOUBLE) > 0.005
           OR a.monetary IS NULL OR b.monetary IS NULL
        """
    ).fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {load(crm_out)}").fetchone()[0]
    return total, diff


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", default="clean,unique,lines",
                        help="comma-separated: clean (unique order IDs, no status, no refunds), unique "
                             "(one row per order, with refunds and cancellations) and/or lines "
                             "(invoice lines with refunds)")
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")

    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    print(f"crm-eval: {args.bin}\nrows: {args.rows:,}  runs: best of {args.runs}  cores: {os.cpu_count()}\n")
    print(f"{'data':7} {'input':8} {'crm-eval s':>11} {'duckdb s':>9} {'ratio':>6} {'plain s':>8} {'ratio':>6} "
          f"{'polars s':>9} {'ratio':>6} {'crm-eval MiB':>13} {'duckdb MiB':>11}  outputs")
    for kind in args.data.split(","):
        csv_path, parquet_path = generate(args.rows, kind)
        for label, path, source in [
            ("csv", csv_path, f"read_csv('{csv_path}', header=true)"),
            ("parquet", parquet_path, f"read_parquet('{parquet_path}')"),
        ]:
            crm_out = os.path.join(work, f"crm_{kind}_{label}.csv")
            duck_out = os.path.join(work, f"duck_{kind}_{label}.csv")
            plain_out = os.path.join(work, f"plain_{kind}_{label}.csv")
            pl_out = os.path.join(work, f"polars_{kind}_{label}.csv")
            sql_path = os.path.join(work, f"rfm_{kind}_{label}.sql")
            plain_path = os.path.join(work, f"plain_{kind}_{label}.sql")
            with open(sql_path, "w") as f:
                # The same-definition query reads a status; a clean export has none (all paid).
                same = f"(SELECT *, NULL::VARCHAR AS status FROM {source})" if kind == "clean" else source
                f.write(rfm_sql(same, duck_out))
            with open(plain_path, "w") as f:
                f.write(plain_rfm_sql(source, plain_out))
            crm_times, crm_mem, duck_times, duck_mem, plain_times, pl_times = [], [], [], [], [], []
            for _ in range(args.runs):
                t, mem, _ = measure([args.bin, "rfm", path, "-q", "-o", crm_out])
                crm_times.append(t)
                crm_mem.append(mem)
                _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, sql_path])
                duck_times.append(float(out.decode().strip().splitlines()[-1]))
                duck_mem.append(mem)
                _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, plain_path])
                plain_times.append(float(out.decode().strip().splitlines()[-1]))
                duck_mem.append(mem)
                _, _, out = measure([sys.executable, "-c", POLARS_RUNNER, path, pl_out])
                pl_times.append(float(out.decode().strip().splitlines()[-1]))
            total, diff = compare(crm_out, duck_out)
            verdict = f"{total:,} customers, {diff} differ"
            if kind == "clean":
                # On a clean file the plain query is the definition too: compare it as well.
                _, plain_diff = compare(crm_out, plain_out)
                verdict += f", {plain_diff} differ from the plain query"
                diff += plain_diff
            ratio = min(crm_times) / min(duck_times)
            plain_ratio = min(crm_times) / min(plain_times)
            pl_ratio = min(crm_times) / min(pl_times)
            print(f"{kind:7} {label:8} {min(crm_times):11.2f} {min(duck_times):9.2f} {ratio:6.2f} "
                  f"{min(plain_times):8.2f} {plain_ratio:6.2f} "
                  f"{min(pl_times):9.2f} {pl_ratio:6.2f} {max(crm_mem):13.0f} {max(duck_mem):11.0f}  {verdict}", flush=True)
            if diff:
                sys.exit(f"outputs differ: compare {crm_out} and {duck_out} / {plain_out}")
        # The cost of --on-bad-rows skip on a clean file (issue 27: at most 10 % more): the same
        # run with a rejects file; same bytes out, none rejected.
        skip_out = os.path.join(work, f"crm_{kind}_skip.csv")
        rejects = os.path.join(work, f"rejects_{kind}.csv")
        plain = [measure([args.bin, "rfm", csv_path, "-q", "-o", crm_out])[0] for _ in range(args.runs)]
        skip = [measure([args.bin, "rfm", csv_path, "-q", "-o", skip_out, "--rejects", rejects])[0]
                for _ in range(args.runs)]
        same = open(crm_out, "rb").read() == open(skip_out, "rb").read()
        rejected = sum(1 for _ in open(rejects)) - 1
        print(f"{kind:7} {'csv skip':8} {min(skip):11.2f}  plain {min(plain):.2f}  skip/plain "
              f"{min(skip) / min(plain):.3f}  same bytes: {same}, {rejected} rejected", flush=True)
        if not same or rejected:
            sys.exit(f"--on-bad-rows skip changed a clean file's answer: compare {crm_out} and {skip_out}")


if __name__ == "__main__":
    main()
