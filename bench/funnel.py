#!/usr/bin/env python3
"""Benchmark: `crm-eval funnel` beside the same definitions in DuckDB SQL.

    pip install duckdb
    cargo build --release
    python3 bench/funnel.py                          # 5M opportunities, ~19M stage changes
    python3 bench/funnel.py --opportunities 500000

Data (generated once with DuckDB, deterministic hashes, into bench/data/): opportunities of 200
owners created over 1,000 days that enter 2 to 4 of the stages Prospecting < Qualification <
Proposal < Negotiation, 2 to 20 days apart; 20 % are still open, the rest closed as Closed Won
(most of those that reached Negotiation), Closed Lost or Disqualified; the stage history has one
row per stage entered plus the closing row.

Both sides compute, as of the day after the latest date: the summary per owner with an `all` row
(counts by outcome, win rate with the Wilson interval, won-cycle median and quartiles, lost-cycle
median, won and open amounts, average won amount, weighted pipeline with per-stage win
probabilities measured on closed opportunities, velocity) and the stage table over all
opportunities (reached, advanced, conversion, open and lost there, median days in stage, win
probability), by docs/metrics.md "Funnel". crm-eval writes both tables to one CSV file, DuckDB
to two. Every cell is compared (counts exactly, rates and days to 4 decimals, money to the cent)
before the times are printed. Method as bench/rfm.py: fastest of N wall-clock runs; DuckDB's
queries alone (no Python start-up), crm-eval's whole process; peak RSS from wait4.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rfm import DATA, measure  # noqa: E402

STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]


def generate(n):
    import duckdb

    os.makedirs(DATA, exist_ok=True)
    opps = os.path.join(DATA, f"opportunities_{n}.csv")
    hist = os.path.join(DATA, f"stage_history_{n}.csv")
    if os.path.exists(opps) and os.path.exists(hist):
        return opps, hist
    print(f"generating {n:,} opportunities and their stage history in {DATA} ...", flush=True)
    con = duckdb.connect()
    stage_list = "[" + ", ".join(f"'{s}'" for s in STAGES) + "]"
    con.execute(f"""
        CREATE TABLE o AS
        SELECT i, 'OP' || lpad(i::VARCHAR, 9, '0') AS opportunity_id,
               'owner_' || lpad((hash(i) % 200)::VARCHAR, 3, '0') AS owner,
               'C' || lpad((hash(i * 3) % 1000000)::VARCHAR, 8, '0') AS customer_id,
               TIMESTAMP '2022-01-01' + to_seconds((hash(i * 5) % (1000 * 86400))::BIGINT) AS created_at,
               2 + (hash(i * 7) % 3)::INT AS depth,
               hash(i * 11) % 100 AS roll,
               round(1000 + (hash(i * 13) % 9000000) / 100.0, 2) AS amount,
               2 + (hash(i * 17) % 19)::INT AS gap
        FROM range({n}) t(i)""")
    con.execute(f"""
        CREATE TABLE h AS
        SELECT opportunity_id, {stage_list}[k] AS stage,
               created_at + to_days(((k - 1) * gap)::INT) + to_seconds((k * 3600)::BIGINT) AS entered_at
        FROM o, range(1, 5) r(k) WHERE k <= depth""")
    # Outcome: 20 % open; otherwise won (mostly those that reached Negotiation), lost, invalid.
    con.execute("""
        CREATE TABLE oc AS
        SELECT o.*, CASE WHEN roll < 20 THEN NULL
                         WHEN depth = 4 AND roll < 70 THEN 'Closed Won'
                         WHEN roll < 92 THEN 'Closed Lost' ELSE 'Disqualified' END AS closing,
               created_at + to_days((depth * gap)::INT) AS closed_ts
        FROM o""")
    con.execute(f"""
        COPY (SELECT opportunity_id, customer_id, owner,
                     coalesce(closing, {stage_list}[depth]) AS stage,
                     strftime(created_at, '%Y-%m-%d %H:%M:%S') AS created_at,
                     CASE WHEN closing IS NOT NULL THEN strftime(closed_ts, '%Y-%m-%d') END AS closed_at,
                     amount
              FROM oc ORDER BY i) TO '{opps}' (HEADER, DELIMITER ',')""")
    con.execute(f"""
        COPY (SELECT opportunity_id, stage, strftime(entered_at, '%Y-%m-%d %H:%M:%S') AS entered_at FROM h
              UNION ALL
              SELECT opportunity_id, closing, strftime(closed_ts, '%Y-%m-%d %H:%M:%S') FROM oc WHERE closing IS NOT NULL
              ORDER BY entered_at, opportunity_id) TO '{hist}' (HEADER, DELIMITER ',')""")
    rows = con.execute(f"SELECT count(*) FROM read_csv('{hist}')").fetchone()[0]
    print(f"  {rows:,} stage changes", flush=True)
    return opps, hist


def funnel_sql(opps, hist, summary_out, stages_out):
    ranks = " ".join(f"WHEN '{s}' THEN {k}" for k, s in enumerate(STAGES))
    return f"""
CREATE TEMP TABLE raw AS SELECT * FROM read_csv('{opps}', header=true);
CREATE TEMP TABLE hraw AS SELECT * FROM read_csv('{hist}', header=true);
CREATE TEMP TABLE hist AS
  SELECT opportunity_id, stage, entered_at, CASE stage {ranks} END AS k FROM hraw;
CREATE TEMP TABLE opp AS
  WITH f AS (SELECT opportunity_id, max(k) AS hk FROM hist GROUP BY opportunity_id)
  SELECT r.opportunity_id, r.owner, r.created_at::DATE AS created, r.amount,
         CASE r.stage WHEN 'Closed Won' THEN 'won' WHEN 'Closed Lost' THEN 'lost'
                      WHEN 'Disqualified' THEN 'invalid' ELSE 'open' END AS outcome,
         CASE WHEN r.stage IN ('Closed Won', 'Closed Lost', 'Disqualified') THEN r.closed_at END AS closed,
         CASE WHEN r.stage = 'Closed Won' THEN {len(STAGES) - 1}
              ELSE coalesce(greatest(f.hk, CASE r.stage {ranks} END), f.hk, CASE r.stage {ranks} END, 0) END AS furthest
  FROM raw r LEFT JOIN f USING (opportunity_id);
-- Days in stage: from entering an open stage to the next change, else to the close.
CREATE TEMP TABLE stays AS
  WITH ordered AS (
    SELECT h.opportunity_id, h.k, h.entered_at::DATE AS d,
           lead(h.entered_at::DATE) OVER (PARTITION BY h.opportunity_id ORDER BY h.entered_at) AS next_d
    FROM hist h)
  SELECT o.k, coalesce(o.next_d, p.closed) - o.d AS days
  FROM ordered o JOIN opp p USING (opportunity_id)
  WHERE o.k IS NOT NULL AND coalesce(o.next_d, p.closed) IS NOT NULL;
CREATE TEMP TABLE prob AS
  SELECT s.k, sum((outcome = 'won')::INT) / count(*) AS p
  FROM range({len(STAGES)}) s(k), opp
  WHERE outcome IN ('won', 'lost') AND furthest >= s.k GROUP BY s.k;
COPY (
  WITH g AS (SELECT owner AS grp, * FROM opp UNION ALL SELECT 'all' AS grp, * FROM opp),
  agg AS (
    SELECT grp, count(*) AS opportunities,
           count(*) FILTER (WHERE outcome = 'open') AS open, count(*) FILTER (WHERE outcome = 'won') AS won,
           count(*) FILTER (WHERE outcome = 'lost') AS lost, count(*) FILTER (WHERE outcome = 'invalid') AS invalid,
           quantile_cont(closed - created, 0.5) FILTER (WHERE outcome = 'won') AS median_cycle_days,
           quantile_cont(closed - created, 0.25) FILTER (WHERE outcome = 'won') AS cycle_p25_days,
           quantile_cont(closed - created, 0.75) FILTER (WHERE outcome = 'won') AS cycle_p75_days,
           quantile_cont(closed - created, 0.5) FILTER (WHERE outcome = 'lost') AS lost_median_cycle_days,
           coalesce(sum(amount) FILTER (WHERE outcome = 'won'), 0) AS won_amount,
           avg(amount) FILTER (WHERE outcome = 'won') AS avg_won_amount,
           coalesce(sum(amount) FILTER (WHERE outcome = 'open'), 0) AS open_amount,
           coalesce(sum(amount * prob.p) FILTER (WHERE outcome = 'open'), 0) AS weighted_pipeline
    FROM g LEFT JOIN prob ON prob.k = g.furthest GROUP BY grp),
  rated AS (
    SELECT *, won / nullif(won + lost, 0) AS rate, won + lost AS n FROM agg),
  wilson AS (
    SELECT *, (rate + 1.96 ^ 2 / (2 * n)) / (1 + 1.96 ^ 2 / n) AS centre,
           1.96 * sqrt(rate * (1 - rate) / n + 1.96 ^ 2 / (4 * n * n)) / (1 + 1.96 ^ 2 / n) AS half
    FROM rated)
  SELECT grp AS owner, opportunities, open, won, lost, invalid, round(rate, 4) AS win_rate,
         round(greatest(centre - half, 0), 4) AS ci_low, round(least(centre + half, 1), 4) AS ci_high,
         round(median_cycle_days, 1) AS median_cycle_days, round(cycle_p25_days, 1) AS cycle_p25_days,
         round(cycle_p75_days, 1) AS cycle_p75_days, round(lost_median_cycle_days, 1) AS lost_median_cycle_days,
         round(won_amount, 2) AS won_amount, round(avg_won_amount, 2) AS avg_won_amount,
         round(open_amount, 2) AS open_amount, round(weighted_pipeline, 2) AS weighted_pipeline,
         CASE WHEN median_cycle_days > 0 THEN round(open * rate * avg_won_amount / median_cycle_days, 2) END AS velocity_per_day
  FROM wilson ORDER BY grp = 'all', grp
) TO '{summary_out}' (HEADER, DELIMITER ',');
COPY (
  WITH reached AS (
    SELECT s.k, count(*) FILTER (WHERE outcome <> 'invalid' AND furthest >= s.k) AS reached,
           count(*) FILTER (WHERE outcome = 'open' AND furthest = s.k) AS open_here,
           count(*) FILTER (WHERE outcome = 'lost' AND furthest = s.k) AS lost_here
    FROM range({len(STAGES)}) s(k), opp GROUP BY s.k),
  won AS (SELECT count(*) AS won FROM opp WHERE outcome = 'won'),
  days AS (SELECT k, quantile_cont(days, 0.5) AS m FROM stays GROUP BY k)
  SELECT r.k, r.reached, coalesce(lead(r.reached) OVER (ORDER BY r.k), (SELECT won FROM won)) AS advanced,
         r.open_here, r.lost_here, round(d.m, 1) AS median_days_in_stage, round(p.p, 4) AS win_probability
  FROM reached r LEFT JOIN days d USING (k) LEFT JOIN prob p USING (k) ORDER BY r.k
) TO '{stages_out}' (HEADER, DELIMITER ',');
"""


DUCKDB_RUNNER = """
import sys, time, duckdb
sql = open(sys.argv[1]).read()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
start = time.perf_counter()
for statement in sql.split(";"):
    if statement.strip():
        con.execute(statement)
print(time.perf_counter() - start)
"""


def compare(crm_out, summary_out, stages_out):
    import csv
    import io

    text = open(crm_out, encoding="utf-8").read()
    ours_summary, ours_stages = text.split("\n\n")
    read = lambda t: list(csv.DictReader(io.StringIO(t)))
    a, b = read(ours_summary), read(open(summary_out).read())
    differ = 0

    def same(x, y, tol):
        if x in ("", None) or y in ("", None):
            return (x or "") == (y or "")
        try:
            return abs(float(x) - float(y)) <= tol
        except ValueError:
            return x == y

    for row_a, row_b in zip(a, b):
        for col in row_b:
            tol = 0.00005 if col in ("win_rate", "ci_low", "ci_high") else 0.05 if "days" in col else 0.005
            if not same(row_a.get(col), row_b[col], tol):
                differ += 1
                if differ <= 5:
                    print(f"  summary {row_b['owner']} {col}: crm-eval {row_a.get(col)} duckdb {row_b[col]}")
    if len(a) != len(b):
        differ += 1
    sa = [r for r in read(ours_stages) if r["stage"] != "won"]
    sb = read(open(stages_out).read())
    for row_a, row_b in zip(sa, sb):
        for col in ("reached", "advanced", "open_here", "lost_here", "median_days_in_stage", "win_probability"):
            if not same(row_a[col], row_b[col], 0.00005):
                differ += 1
                if differ <= 5:
                    print(f"  stage {row_a['stage']} {col}: crm-eval {row_a[col]} duckdb {row_b[col]}")
    return f"{len(a) - 1} owners and {len(sa)} stages, {differ} cells differ", differ


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opportunities", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    opps, hist = generate(args.opportunities)
    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    crm_out = os.path.join(work, "crm.csv")
    summary_out, stages_out = os.path.join(work, "summary.csv"), os.path.join(work, "stages.csv")
    sql_path = os.path.join(work, "funnel.sql")
    with open(sql_path, "w") as f:
        f.write(funnel_sql(opps, hist, summary_out, stages_out))
    argv = [args.bin, "funnel", opps, "--history", hist, "--stages", ",".join(STAGES), "--by", "owner",
            "--show", "summary", "--show", "stages", "-q", "-o", crm_out]
    # The stage table over all opportunities: a second run without --by would time twice; the
    # stage table of `--by owner` holds the `all` rows, which are compared.
    crm_t, crm_m, duck_t, duck_m = [], [], [], []
    for _ in range(args.runs):
        t, mem, _ = measure(argv)
        crm_t.append(t)
        crm_m.append(mem)
        _, mem, out = measure([sys.executable, "-c", DUCKDB_RUNNER, sql_path])
        duck_t.append(float(out.decode().strip().splitlines()[-1]))
        duck_m.append(mem)
    # Keep the `all` rows of crm-eval's stage table for the comparison.
    text = open(crm_out, encoding="utf-8").read()
    summary_text, stage_text = text.split("\n\n")
    stage_lines = stage_text.strip().split("\n")
    kept = [stage_lines[0]] + [line for line in stage_lines[1:] if line.startswith("all,")]
    header = stage_lines[0].split(",", 1)[1]
    with open(crm_out, "w", encoding="utf-8") as f:
        f.write(summary_text + "\n\n" + header + "\n" + "\n".join(l.split(",", 1)[1] for l in kept[1:]) + "\n")
    verdict, differ = compare(crm_out, summary_out, stages_out)
    print(f"opportunities: {args.opportunities:,}  runs: best of {args.runs}  cores: {os.cpu_count()}\n")
    print(f"{'command':8} {'crm-eval s':>11} {'duckdb s':>9} {'ratio':>6} {'crm-eval MiB':>13} {'duckdb MiB':>11}  outputs")
    print(f"{'funnel':8} {min(crm_t):11.2f} {min(duck_t):9.2f} {min(crm_t) / min(duck_t):6.2f} "
          f"{max(crm_m):13.0f} {max(duck_m):11.0f}  {verdict}", flush=True)
    if differ:
        sys.exit(f"outputs differ: compare {crm_out} with {summary_out} and {stages_out}")


if __name__ == "__main__":
    main()
