#!/usr/bin/env python3
"""The Spark dialect of `crm-eval sql` run on Apache Spark in local mode, beside crm-eval.

    python3 bench/spark.py                   # sample-data and the 10M-order benchmark data
    python3 bench/spark.py --sample-only
    python3 bench/spark.py --only cohort,clv  # the checks whose label has one of the words

Installs what it needs when missing: pyspark from PyPI, a Java runtime from Debian packages
(`default-jre-headless`). For each data set it builds an `orders` view (customer_id, order_id,
order_date as DATE, amount, status as exported, owner) and, beside sample-data's events.csv, an
`events` view (the export's event words, reason, pool, seq in file order); runs the Spark SQL of
`crm-eval sql` for rfm, lifecycle-rates (week, month, quarter), lifecycle, rating, abc (two
thresholds), recovery from churn, conversion and recovery (two windows, and recovery by its other
groups), cohort (three metrics and periods) and clv-summary; checks every cell against the
command (counts exact, money to the cent) and the summary's fit against `crm-eval clv --params`,
and prints the times. The orders of the 10M-row set come from bench/rfm.py's generator (made
when missing).
"""

import argparse
import csv
import importlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")),
    "release",
    "crm-eval",
)


def ensure_tools():
    if shutil.which("java") is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "default-jre-headless"], check=True)
    try:
        importlib.import_module("pyspark")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pyspark"], check=True)


def crm(*args, may_fail=False):
    run = subprocess.run([BINARY, *args], capture_output=True, text=True)
    if run.returncode != 0:
        if may_fail:
            return None, run.stderr.strip().split(": ")[-1]
        sys.exit(f"crm-eval {' '.join(args)} failed: {run.stderr}")
    return (run.stdout, None) if may_fail else run.stdout


def compare_rfm(spark_rows, crm_csv):
    ours = list(csv.DictReader(io.StringIO(crm_csv)))
    if len(ours) != len(spark_rows):
        sys.exit(f"rfm: Spark has {len(spark_rows)} customers, crm-eval {len(ours)}")
    for theirs, mine in zip(spark_rows, ours):
        for column, value in mine.items():
            if column == "owner" and column not in theirs:
                continue  # the commands' current owner (docs/metrics.md) has no SQL yet
            got = theirs[column]
            if column == "monetary":
                ok = abs(float(got) - float(value)) < 0.005
            else:
                ok = str(got) == value
            if not ok:
                sys.exit(f"rfm: {column} of {mine['customer_id']}: Spark {got}, crm-eval {value}")
    return len(ours)


def same_table(label, spark_rows, ours):
    """Every cell equal: numbers to 1e-9 (money to the cent), text exactly, NULL as empty."""
    if len(ours) != len(spark_rows):
        sys.exit(f"{label}: Spark {len(spark_rows)} rows, crm-eval {len(ours)}")
    for theirs, mine in zip(spark_rows, ours):
        for column, value in mine.items():
            if column == "owner" and column not in theirs:
                continue  # the commands' current owner (docs/metrics.md) has no SQL yet
            got = theirs[column]
            if got is None or got == "" or value == "":
                # CSV writes NULL and the empty text alike (the empty owner of a churn episode).
                ok = got in (None, "") and value == ""
            elif isinstance(got, bool):
                ok = str(got).lower() == value
            elif isinstance(got, (int, float)) or hasattr(got, "as_tuple"):
                money = (column in ("value", "monetary", "converted_revenue", "value_added", "value_per_recovered",
                                    "score", "won_amount", "avg_won_amount", "open_amount",
                                    "weighted_pipeline", "velocity_per_day", "amount", "weighted_amount",
                                    "past_value")
                         or label.startswith("cohort revenue"))
                tolerance = 0.005 if money else 1e-9
                ok = abs(float(got) - float(value)) <= tolerance
            else:
                ok = str(got) == value
            if not ok:
                sys.exit(f"{label}: {column} of row {mine}: Spark {got!r}, crm-eval {value}")


def run_set(spark, name, path, has_order_id, has_status, only=None):
    wanted = lambda label: only is None or any(word in label for word in only)
    from pyspark.sql import functions as F

    raw = spark.read.csv(path, header=True, inferSchema=False)
    has_owner = "owner" in raw.columns
    orders = raw.select(
        F.col("customer_id").cast("string").alias("customer_id"),
        (F.col("order_id").cast("string") if has_order_id else F.lit(None).cast("string")).alias("order_id"),
        F.to_date(F.col("order_date")).alias("order_date"),
        F.col("amount").cast("decimal(18,4)").alias("amount"),
        (F.col("status") if has_status else F.lit(None).cast("string")).alias("status"),
        (F.col("owner") if has_owner else F.lit(None).cast("string")).alias("owner"),
    )
    orders.cache().count()
    orders.createOrReplaceTempView("orders")
    if wanted("rfm"):
        sql = crm("sql", "rfm", "--dialect", "spark").strip().rstrip(";")
        start = time.perf_counter()
        rows = [r.asDict() for r in spark.sql(sql).collect()]
        spark_secs = time.perf_counter() - start
        start = time.perf_counter()
        mine = crm("rfm", path, "-q")
        crm_secs = time.perf_counter() - start
        customers = compare_rfm(rows, mine)
        print(f"{name}: rfm of {customers:,} customers identical in every cell; "
              f"Spark {spark_secs:.1f} s, crm-eval {crm_secs:.1f} s (crm-eval / Spark {crm_secs / spark_secs:.2f})",
              flush=True)
    # lifecycle --rates (by week, month and quarter), abc and cohort: every cell.
    checks = [
        ("lifecycle --rates by " + p, ["lifecycle-rates", "--period", p], ["lifecycle", path, "--rates", "--period", p])
        for p in ("month", "week", "quarter")
    ] + [
        ("lifecycle", ["lifecycle"], ["lifecycle", path]),
        ("rating", ["rating"], ["rating", path]),
        ("abc", ["abc"], ["abc", path]),
        ("abc 62.5,97.25", ["abc", "--thresholds", "62.5,97.25"], ["abc", path, "--thresholds", "62.5,97.25"]),
        ("recovery --churn-days 120", ["recovery", "--churn-days", "120"], ["recovery", path, "--churn-days", "120"]),
    ]
    events = os.path.join(os.path.dirname(path), "events.csv")
    if os.path.exists(events):
        # The ownership events as exported (the SQL maps the event words); seq keeps file order.
        raw_events = spark.read.csv(events, header=True, inferSchema=False)
        raw_events.select(
            F.col("customer_id").cast("string").alias("customer_id"),
            F.to_timestamp(F.col("event_time")).alias("event_time"),
            F.col("event").cast("string").alias("event"),
            F.col("owner").cast("string").alias("owner"),
            F.col("reason").cast("string").alias("reason"),
            F.col("pool").cast("string").alias("pool"),
            F.monotonically_increasing_id().alias("seq"),
        ).createOrReplaceTempView("events")
        for command in ("conversion", "recovery"):
            for window in ("90", "30"):
                checks.append((f"{command} --window {window}", [command, "--window", window],
                               [command, "--events", events, "--orders", path, "--window", window]))
        for by in ("previous-owner,reason", "pool,month"):
            checks.append((f"recovery --by {by}", ["recovery", "--by", by],
                           ["recovery", "--events", events, "--orders", path, "--by", by]))
        customers = os.path.join(os.path.dirname(path), "customers.csv")
        if os.path.exists(customers):
            spark.read.csv(customers, header=True, inferSchema=False).createOrReplaceTempView("customers")
            for command, by in (("conversion", "owner,region"), ("recovery", "industry,region")):
                checks.append((f"{command} --by {by} (customers table)",
                               [command, "--by", by, "--customers-table", "customers"],
                               [command, "--events", events, "--orders", path, "--customers", customers,
                                "--by", by, "--format", "csv"]))
        followups = os.path.join(os.path.dirname(path), "followups.csv")
        if os.path.exists(followups):
            spark.read.csv(followups, header=True, inferSchema=False).select(
                F.col("customer_id").cast("string").alias("customer_id"),
                F.to_timestamp(F.col("followup_time")).alias("followup_time"),
            ).createOrReplaceTempView("followups")
            checks.append(("conversion with follow-ups", ["conversion", "--followups-table", "followups"],
                           ["conversion", "--events", events, "--orders", path, "--followups", followups,
                            "--format", "csv"]))
            if os.path.exists(customers):
                checks.append(("pool --show health --by pool,region (customers table)",
                               ["pool", "--show", "health", "--by", "pool,region", "--customers-table",
                                "customers"],
                               ["pool", "--events", events, "--followups", followups, "--orders", path,
                                "--customers", customers, "--by", "pool,region", "--show", "health",
                                "--format", "csv"]))
            for show in ("due", "owners", "reclaims", "priority", "health"):
                checks.append((f"pool --show {show}", ["pool", "--show", show],
                               ["pool", "--events", events, "--followups", followups, "--orders", path,
                                "--show", show, "--format", "csv"]))
    opportunities = os.path.join(os.path.dirname(path), "opportunities.csv")
    history = os.path.join(os.path.dirname(path), "stage_history.csv")
    if os.path.exists(opportunities) and os.path.exists(history):
        # The opportunities and their stage history as exported, headers named by --map.
        raw = spark.read.csv(opportunities, header=True, inferSchema=False)
        raw.select(
            *[F.col(c).cast("string").alias(c) for c in ("opportunity_id", "customer_id", "owner", "stage",
                                                         "product", "lead_source")],
            F.to_timestamp(F.col("created_at")).alias("created_at"),
            F.to_date(F.col("close_date")).alias("close_date"),
            F.col("amount").cast("decimal(18,4)").alias("amount"),
            F.monotonically_increasing_id().alias("seq"),
        ).createOrReplaceTempView("opportunities")
        spark.read.csv(history, header=True, inferSchema=False).select(
            F.col("opportunity_id").cast("string").alias("opportunity_id"),
            F.col("stage").cast("string").alias("stage"),
            F.to_timestamp(F.col("entered_at")).alias("entered_at"),
            F.monotonically_increasing_id().alias("seq"),
        ).createOrReplaceTempView("stage_history")
        opp_map = ["--map", "closed_at=close_date", "--map", "source=lead_source"]
        teams = os.path.join(os.path.dirname(path), "teams.csv")
        customers = os.path.join(os.path.dirname(path), "customers.csv")
        if os.path.exists(teams) and os.path.exists(customers):
            spark.read.csv(teams, header=True, inferSchema=False).createOrReplaceTempView("teams")
            spark.read.csv(customers, header=True, inferSchema=False).createOrReplaceTempView("customers")
            for show, by in (("summary", "team,region"), ("stages", "industry")):
                checks.append((f"funnel --show {show} --by {by} (teams and customers tables)",
                               ["funnel", "--history-table", "stage_history", "--show", show, *opp_map,
                                "--by", by, "--teams-table", "teams", "--customers-table", "customers"],
                               ["funnel", opportunities, "--history", history, "--show", show, *opp_map,
                                "--by", by, "--teams", teams, "--customers", customers, "--format", "csv"]))
        for show, by in (("summary", None), ("stages", None), ("open", None), ("summary", "owner,month"),
                         ("stages", "product,source")):
            grouped = ["--by", by] if by else []
            checks.append((f"funnel --show {show}" + (f" --by {by}" if by else ""),
                           ["funnel", "--history-table", "stage_history", "--show", show, *opp_map, *grouped],
                           ["funnel", opportunities, "--history", history, "--show", show, *opp_map,
                            *grouped, "--format", "csv"]))
    # Invoice lines under their own headers, the date a timestamp: --like's line amounts and the
    # cancellation step (sample-data only).
    lines = os.path.join(os.path.dirname(path), "invoice_lines.csv")
    if os.path.exists(lines):
        raw_lines = spark.read.csv(lines, header=True, inferSchema=False)
        raw_lines.select(
            F.col("InvoiceNo"), F.col("StockCode"),
            F.col("Quantity").cast("decimal(18,4)").alias("Quantity"),
            F.to_timestamp(F.col("InvoiceDate"), "M/d/yyyy HH:mm").alias("InvoiceDate"),
            F.col("UnitPrice").cast("decimal(18,4)").alias("UnitPrice"),
            F.col("CustomerID"),
        ).createOrReplaceTempView("invoice_lines")
        checks.append(("rfm --like invoice lines (line amounts, cancellations, timestamps)",
                       ["rfm", "--orders-table", "invoice_lines", "--like", lines], ["rfm", lines]))
    for metric, period in (("retention", "month"), ("revenue", "quarter"), ("customers", "week")):
        command = ["cohort", path, "--metric", metric, "--period", period]
        width = len([c for c in crm(*command, "-q").splitlines()[0].split(",") if c.startswith("period_")])
        checks.append((f"cohort {metric} by {period}",
                       ["cohort", "--metric", metric, "--period", period, "--periods", str(width)], command))
    for label, sql_args, command in checks:
        if not wanted(label):
            continue
        sql = crm("sql", *sql_args, "--dialect", "spark").strip().rstrip(";")
        start = time.perf_counter()
        theirs = [r.asDict() for r in spark.sql(sql).collect()]
        secs = time.perf_counter() - start
        ours = list(csv.DictReader(io.StringIO(crm(*command, "-q"))))
        same_table(label, theirs, ours)
        print(f"{name}: {label}: {len(ours):,} rows identical in every cell; Spark {secs:.1f} s", flush=True)
    # clv-summary: the fit of Spark's summary against clv on the orders.
    if not wanted("clv"):
        return
    sql = crm("sql", "clv-summary", "--dialect", "spark").strip().rstrip(";")
    start = time.perf_counter()
    summary = spark.sql(sql).collect()
    summary_secs = time.perf_counter() - start
    tmp = tempfile.mkdtemp()
    summary_path = os.path.join(tmp, "summary.csv")
    with open(summary_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "frequency", "recency", "T", "monetary"])
        for r in summary:
            w.writerow([r["customer_id"], r["frequency"], repr(r["recency"]), repr(r["T"]), repr(float(r["monetary"]))])
    def estimates(text):
        return {
            (r["model"], r["parameter"]): float(r["estimate"])
            for r in csv.DictReader(io.StringIO(text))
            if r["parameter"] not in ("log_likelihood", "customers")
        }

    direct, why = crm("clv", path, "--params", "-q", may_fail=True)
    from_spark, why_spark = crm("clv", "--summary-in", summary_path, "--params", "-q", may_fail=True)
    if direct is None or from_spark is None:
        # Data without dropout (the uniform benchmark data): both must fail alike.
        reason = lambda text: "no dropout" if "dropping out" in (text or "") else text
        same_failure = direct is None and from_spark is None and reason(why) == reason(why_spark)
        print(f"{name}: clv-summary in Spark {summary_secs:.1f} s; the BG/NBD fit fails on this data "
              f"{'both ways, with the same reason' if same_failure else 'ONE WAY ONLY'}: {reason(why or why_spark)}")
        if not same_failure:
            sys.exit(1)
        return
    direct, from_spark = estimates(direct), estimates(from_spark)
    same = direct.keys() == from_spark.keys() and all(
        abs(direct[k] - from_spark[k]) <= 5e-6 * abs(direct[k]) for k in direct
    )
    print(f"{name}: clv-summary in Spark {summary_secs:.1f} s, fitted parameters "
          f"{'equal to 6 significant digits' if same else 'DIFFERENT'}")
    if not same:
        print(direct, from_spark, sep="\n")
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample-only", action="store_true")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--only", metavar="WORDS",
                        help="comma-separated words: run only the checks whose label has one (rfm and the "
                             "clv-summary fit run when named: rfm, clv)")
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: cargo build --release (or set CARGO_TARGET_DIR)")
    ensure_tools()
    import pyspark
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[*]")
        .config("spark.driver.memory", "8g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"Apache Spark {pyspark.__version__} (local[*]), Java {subprocess.run(['java', '-version'], capture_output=True, text=True).stderr.splitlines()[0]}")
    only = args.only.split(",") if args.only else None
    run_set(spark, "sample-data/orders.csv", os.path.join(ROOT, "sample-data", "orders.csv"), True, True, only)
    if not args.sample_only:
        sys.path.insert(0, HERE)
        import rfm

        path = os.path.join(rfm.DATA, f"orders_{args.rows}.csv")
        if not os.path.exists(path):
            rfm.generate(args.rows, "unique")
        run_set(spark, os.path.basename(path), path, True, True, only)
    spark.stop()


if __name__ == "__main__":
    main()
