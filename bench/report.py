#!/usr/bin/env python3
"""Benchmark: `crm-eval report` with every input beside the standalone commands it contains.

    pip install duckdb
    cargo build --release
    python3 bench/report.py                  # the 10M-order data of bench/rfm.py and bench/allocation.py
    python3 bench/report.py --rows 1000000

The report builds the purchase ledger once and computes every analysis from it; run one by one,
each command loads the orders again. The script times `crm-eval report --orders --customers
--events --followups --surveys -o report.xlsx` (and the same to JSON) beside the sum of the
standalone commands whose tables the report holds: rfm and rfm --summary, abc and abc --summary,
clv and clv --params, lifecycle, lifecycle --summary and --rates, cohort, conversion by owner and
by cohort, recovery by owner and by reason, pool, nps overall and by owner, and the funnel's
summary by owner, stages and open deals. Fastest of N runs.

Inputs: the orders of bench/rfm.py, the ownership log of bench/allocation.py, and, generated here
for the same customers (deterministic hashes): a customers export, about 3 follow-ups per customer
and a survey answer from one customer in five; and the pipeline of bench/funnel.py at one
opportunity per 20 order rows.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from allocation import AS_OF, generate_events  # noqa: E402
from funnel import generate as generate_pipeline  # noqa: E402
from rfm import DATA, generate, measure  # noqa: E402


def generate_side_files(rows):
    """customers, follow-ups and surveys of the rows/10 customers."""
    import duckdb

    customers = max(1, rows // 10)
    paths = {name: os.path.join(DATA, f"{name}_{rows}.csv") for name in ("customers", "followups", "surveys")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    print(f"generating customers, follow-ups and surveys of {customers:,} customers in {DATA} ...", flush=True)
    con = duckdb.connect()
    cid = "'C' || lpad(i::VARCHAR, 8, '0')"
    con.execute(f"""
        COPY (SELECT {cid} AS customer_id,
                     CASE hash(i) % 4 WHEN 0 THEN 'referral' WHEN 1 THEN 'web' WHEN 2 THEN 'event' ELSE 'partner' END AS source,
                     'owner_' || lpad((hash(i * 3) % 200)::VARCHAR, 3, '0') AS owner
              FROM range({customers}) t(i))
        TO '{paths["customers"]}' (HEADER, DELIMITER ',')""")
    con.execute(f"""
        COPY (SELECT {cid} AS customer_id,
                     strftime(TIMESTAMP '2022-01-01' + to_seconds((hash(i * 7 + j) % (1095 * 86400))::BIGINT),
                              '%Y-%m-%d %H:%M:%S') AS followup_time,
                     'owner_' || lpad((hash(i * 3) % 200)::VARCHAR, 3, '0') AS owner,
                     CASE j % 3 WHEN 0 THEN 'phone' WHEN 1 THEN 'visit' ELSE 'wechat' END AS channel
              FROM range({customers}) t(i), range(6) r(j) WHERE j < 1 + hash(i * 5) % 5
              ORDER BY followup_time)
        TO '{paths["followups"]}' (HEADER, DELIMITER ',')""")
    con.execute(f"""
        COPY (SELECT {cid} AS customer_id,
                     DATE '2022-01-01' + (hash(i * 11) % 1095)::INT AS response_date,
                     CASE WHEN hash(i) % 2 = 0 THEN 'nps' ELSE 'csat' END AS survey,
                     CASE WHEN hash(i) % 2 = 0 THEN hash(i * 13) % 11 ELSE 1 + hash(i * 13) % 5 END AS score,
                     'owner_' || lpad((hash(i * 3) % 200)::VARCHAR, 3, '0') AS owner
              FROM range({customers}) t(i) WHERE hash(i * 17) % 5 = 0)
        TO '{paths["surveys"]}' (HEADER, DELIMITER ',')""")
    return paths


def timed(argv):
    """Wall time and exit status of one run (a command may fail on this data, as clv's BG/NBD fit
    does on uniform synthetic orders with no dropout: the time it took still counts)."""
    start = time.perf_counter()
    status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - start, status


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    orders, _ = generate(args.rows, "unique")
    events = generate_events(args.rows)
    side = generate_side_files(args.rows)
    opps, history = generate_pipeline(max(1, args.rows // 20))
    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    out = lambda name: os.path.join(work, name)
    allocation = ["--events", events, "--orders", orders, "--as-of", AS_OF]
    standalone = [
        ["rfm", orders, "--as-of", AS_OF],
        ["rfm", orders, "--as-of", AS_OF, "--summary"],
        ["abc", orders, "--as-of", AS_OF],
        ["abc", orders, "--as-of", AS_OF, "--summary"],
        ["clv", orders, "--as-of", AS_OF],
        ["clv", orders, "--as-of", AS_OF, "--params"],
        ["lifecycle", orders, "--as-of", AS_OF, "--customers", side["customers"]],
        ["lifecycle", orders, "--as-of", AS_OF, "--customers", side["customers"], "--summary"],
        ["lifecycle", orders, "--as-of", AS_OF, "--rates"],
        ["cohort", orders, "--as-of", AS_OF],
        ["conversion", *allocation, "--followups", side["followups"], "--by", "owner"],
        ["conversion", *allocation, "--followups", side["followups"], "--by", "cohort"],
        ["recovery", *allocation, "--by", "owner"],
        ["recovery", *allocation, "--by", "reason"],
        ["pool", *allocation, "--followups", side["followups"]],
        ["nps", side["surveys"]],
        ["nps", side["surveys"], "--by", "owner"],
        ["funnel", opps, "--history", history, "--as-of", AS_OF, "--by", "owner", "--show", "summary"],
        ["funnel", opps, "--history", history, "--as-of", AS_OF, "--show", "stages"],
        ["funnel", opps, "--history", history, "--as-of", AS_OF, "--show", "open"],
    ]
    report = ["report", "--orders", orders, "--customers", side["customers"], "--events", events,
              "--followups", side["followups"], "--surveys", side["surveys"],
              "--opportunities", opps, "--stage-history", history, "--as-of", AS_OF]
    print(f"orders: {args.rows:,}  as_of: {AS_OF}  runs: best of {args.runs}  cores: {os.cpu_count()}\n")
    timings = {}
    for fmt in ("xlsx", "json"):
        times, mems = [], []
        for _ in range(args.runs):
            t, mem, _ = measure([args.bin, *report, "-q", "-o", out(f"report.{fmt}")])
            times.append(t)
            mems.append(mem)
        timings[fmt] = (min(times), max(mems))
    per_command = []
    for argv in standalone:
        runs = [timed([args.bin, *argv, "-q", "-o", out("standalone.csv")]) for _ in range(args.runs)]
        name = " ".join(a for a in argv if not a.startswith(DATA) and a != AS_OF and a != "--as-of")
        per_command.append((name, min(t for t, _ in runs), runs[0][1]))
    total = sum(t for _, t, _ in per_command)
    for name, t, status in per_command:
        print(f"  {name:48} {t:7.2f} s{'' if status == 0 else f'  (exit {status})'}")
    print(f"\n{'standalone commands, summed':50} {total:7.2f} s")
    for fmt, (t, mem) in timings.items():
        print(f"{'report -o report.' + fmt:50} {t:7.2f} s   ({t / total:.2f} of the sum, peak {mem:,.0f} MiB)")


if __name__ == "__main__":
    main()
