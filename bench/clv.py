#!/usr/bin/env python3
"""Benchmark: `crm-eval clv` beside Python `lifetimes` doing the same job end to end.

    pip install lifetimes numpy pandas
    cargo build --release
    python3 bench/clv.py                  # 1 million orders (default)
    python3 bench/clv.py --rows 200000

The orders are simulated from the models themselves (numpy, fixed seed, into bench/data/): each
customer's first purchase falls in the first year of a two-year window; purchases then follow a
Poisson process whose rate is Gamma(r 0.8, α 8 weeks) across customers, with a Beta(a 0.8, b 3)
chance of dropping out after each purchase (BG/NBD); spend per purchase is Gamma(p 6, ν) with
ν ~ Gamma(q 3, γ 20) per customer (Gamma-Gamma).

Both programs do the whole job from the CSV file: read it, build the per-customer summary (purchase
days, times in weeks), fit BG/NBD, fit Gamma-Gamma on the repeat buyers, and write the 12-month CLV
of every customer (1 % monthly discount) to a CSV file:
- lifetimes: pandas.read_csv, summary_data_from_transaction_data(freq="D", freq_multiplier=7),
  BetaGeoFitter().fit, GammaGammaFitter().fit, customer_lifetime_value(freq="W"), to_csv. Its
  time is measured inside Python, after the imports.
- crm-eval: `crm-eval clv orders.csv -o clv.csv`, the whole process.
Fastest of N runs each. Then the fitted parameters are compared (`crm-eval clv --params`): they must
agree to 3 significant digits. Per-customer CLV is compared too; lifetimes counts 4.345 weeks in a
month where crm-eval uses 365.25 / 12 / 7 = 4.348, so CLV differs by about 0.1 %.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

LIFETIMES_RUNNER = """
import sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
src, out, params = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
tx = pd.read_csv(src, parse_dates=["order_date"])
s = summary_data_from_transaction_data(tx, "customer_id", "order_date", monetary_value_col="amount",
                                       observation_period_end="2023-12-31", freq="D", freq_multiplier=7)
bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
rep = s[s["frequency"] > 0]
ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
clv = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                  time=12, discount_rate=0.01, freq="W")
clv.to_csv(out)
elapsed = time.perf_counter() - start
with open(params, "w") as f:
    for k, v in list(bgf.params_.items()) + list(ggf.params_.items()):
        f.write(f"{k},{v}\\n")
print(elapsed)
"""


def generate(rows):
    import numpy as np

    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"clv_orders_{rows}.csv")
    if os.path.exists(path):
        return path
    rng = np.random.default_rng(20240601)
    # About 4.4 orders per customer with these parameters; sized to reach `rows`.
    customers = max(100, int(rows / 4.4))
    print(f"generating about {rows:,} orders for {customers:,} customers in {DATA} ...", flush=True)
    horizon = 730  # days: 2022-01-01 .. 2023-12-31
    lam = rng.gamma(0.8, 1 / 8.0, customers) / 7.0  # purchases per day
    p = rng.beta(0.8, 3.0, customers)
    nu = rng.gamma(3.0, 1 / 20.0, customers)
    first = rng.integers(0, 365, customers)
    base = np.datetime64("2022-01-01")
    with open(path, "w") as f:
        f.write("customer_id,order_date,amount\n")
        written = 0
        for c in range(customers):
            day = float(first[c])
            lines = []
            while True:
                spend = rng.gamma(6.0, 1 / nu[c])
                lines.append(f"C{c:07d},{base + int(day)},{spend:.2f}\n")
                if rng.random() < p[c]:
                    break
                day += rng.exponential(1 / lam[c])
                if day >= horizon:
                    break
            f.writelines(lines)
            written += len(lines)
    print(f"  {written:,} orders written", flush=True)
    return path


def measure(argv):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{stderr.decode()}")
    return elapsed, stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    import csv

    path = generate(args.rows)
    work = tempfile.mkdtemp(prefix="crm-eval-bench-")
    crm_out = os.path.join(work, "crm.csv")
    lt_out = os.path.join(work, "lifetimes.csv")
    lt_params = os.path.join(work, "lifetimes_params.csv")
    print(f"crm-eval: {args.bin}\norders file: {path}\nruns: best of {args.runs}  cores: {os.cpu_count()}\n")
    crm_times, lt_times = [], []
    for _ in range(args.runs):
        t, _ = measure([args.bin, "clv", path, "--as-of", "2024-01-01", "-q", "-o", crm_out])
        crm_times.append(t)
        _, out = measure([sys.executable, "-c", LIFETIMES_RUNNER, path, lt_out, lt_params])
        lt_times.append(float(out.decode().strip().splitlines()[-1]))
    _, out = measure([args.bin, "clv", path, "--as-of", "2024-01-01", "--params", "-q", "-f", "csv"])
    ours = {r["parameter"]: float(r["estimate"]) for r in csv.DictReader(out.decode().splitlines())}
    theirs = {k: float(v) for k, v in (line.split(",") for line in open(lt_params).read().split())}
    print(f"{'parameter':10} {'crm-eval':>12} {'lifetimes':>12}  3 s.f.")
    agree = True
    for k in ["r", "alpha", "a", "b", "p", "q", "v"]:
        mine = ours["gamma" if k == "v" else k]
        same = f"{mine:.3g}" == f"{theirs[k]:.3g}"
        agree &= same
        print(f"{k:10} {mine:12.6g} {theirs[k]:12.6g}  {'same' if same else 'DIFFERENT'}")
    mine = {r["customer_id"]: float(r["clv"]) for r in csv.DictReader(open(crm_out))}
    rel = []
    for r in csv.DictReader(open(lt_out)):
        theirs_clv = float(r["clv"])
        if theirs_clv > 1:
            rel.append(abs(mine[r["customer_id"]] / theirs_clv - 1))
    rel.sort()
    print(f"\nper-customer CLV: {len(mine):,} customers; relative difference median {rel[len(rel) // 2]:.2e}, "
          f"max {rel[-1]:.2e} (month length 4.348 vs 4.345 weeks)")
    best_crm, best_lt = min(crm_times), min(lt_times)
    print(f"\ncrm-eval {best_crm:.2f} s, lifetimes {best_lt:.2f} s: crm-eval is {best_lt / best_crm:.1f}x faster")
    if not agree:
        sys.exit("parameters differ at 3 significant digits")
    # --intervals beside the point run (issue 29: at most 2x): the same customers and CLV, with
    # the _low/_high columns added.
    iv_out = os.path.join(work, "crm_intervals.csv")
    iv_times = [measure([args.bin, "clv", path, "--as-of", "2024-01-01", "--intervals", "0.9", "-q",
                         "-o", iv_out])[0] for _ in range(args.runs)]
    with_iv = {r["customer_id"]: r for r in csv.DictReader(open(iv_out))}
    held = all(float(r["clv_low"]) <= float(r["clv"]) <= float(r["clv_high"]) for r in with_iv.values())
    same = all(float(with_iv[k]["clv"]) == v for k, v in mine.items())
    print(f"crm-eval --intervals 0.9 {min(iv_times):.2f} s: {min(iv_times) / best_crm:.2f}x the point run; "
          f"same CLV: {same}, every interval holds its point: {held}")
    if not (same and held):
        sys.exit("--intervals changed the point values or an interval misses its point")
    # Data with no sign of dropout (Online Retail's shape): every model is refused, fast — the
    # Pareto/NBD fit used to run 132 s before refusing the real file.
    no_dropout = os.path.join(os.path.dirname(HERE), "examples", "no-dropout.csv")
    for model in ["bg-nbd", "pareto-nbd"]:
        start = time.perf_counter()
        proc = subprocess.run([args.bin, "clv", no_dropout, "--model", model, "-q"],
                              capture_output=True, text=True, timeout=10)
        took = time.perf_counter() - start
        refused = proc.returncode == 1 and "no sign of customers dropping out" in proc.stderr
        print(f"no-dropout data, --model {model}: exit {proc.returncode} in {took:.2f} s "
              f"({'refused, saying why' if refused else 'NOT REFUSED'})")
        if not refused:
            sys.exit(f"--model {model} did not refuse data without dropout: {proc.stderr}")


if __name__ == "__main__":
    main()
