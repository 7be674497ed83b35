#!/usr/bin/env python3
"""Benchmark: `crm-eval rfm` on more orders than it holds in memory (100 million rows by
default), beside DuckDB running crm-eval's own generated SQL (`crm-eval sql rfm`) under the same
memory limit. Issue 16; docs/cmd/sql.md "More data than one machine".

    pip install duckdb
    cargo build --release
    python3 bench/scale.py                     # 100M orders, --memory-limit 1GiB
    python3 bench/scale.py --rows 10000000     # quicker

The orders are generated once with DuckDB (deterministic hashes, into bench/data/, gitignored):
one CSV file, and the same rows as a hive-partitioned Parquet dataset (`year=…/month=…/
data_0.parquet`, what Spark or DuckDB write to a lake). About ten orders per customer, 3 %
refund-only orders and 4 % cancelled rows, as bench/rfm.py.

For each input, crm-eval runs `rfm INPUT --memory-limit LIMIT` (the dataset as a directory) and
DuckDB runs the SQL of `crm-eval sql rfm --dialect duckdb` over the same files with
`SET memory_limit` to the same size (and, where DuckDB runs out of memory, twice that, and so
on, until it completes) and a temporary directory for spilling. Both write the
per-customer table as CSV; the two tables are then compared on every cell (money to the cent)
before the times are printed. Peak memory is each process's maximum resident set size (wait4);
DuckDB's time is its query alone (the Python start-up and `import duckdb` excluded), crm-eval's
the whole process.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, HERE)
from rfm import compare  # noqa: E402  (every cell of two rfm tables, money to the cent)


def generate(rows):
    import duckdb

    os.makedirs(DATA, exist_ok=True)
    csv_path = os.path.join(DATA, f"scale_orders_{rows}.csv")
    lake = os.path.join(DATA, f"scale_lake_{rows}")
    if os.path.exists(csv_path) and os.path.exists(lake):
        return csv_path, lake
    customers = max(1, rows // 10)
    print(f"generating {rows:,} order rows for {customers:,} customers in {DATA} ...", flush=True)
    select = f"""
        SELECT 'O' || lpad(i::VARCHAR, 10, '0') AS order_id,
               'C' || lpad((hash(i) % {customers})::VARCHAR, 8, '0') AS customer_id,
               DATE '2021-01-01' + (hash(i * 7 + 1) % 1461)::INT AS order_date,
               round(10 + (hash(i * 13 + 5) % 100000) / 100.0, 2) AS amount,
               CASE WHEN hash(i * 31 + 7) % 100 < 93 THEN 'paid'
                    WHEN hash(i * 31 + 7) % 100 < 96 THEN 'refunded'
                    ELSE 'cancelled' END AS status
        FROM range({rows}) t(i)"""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"COPY ({select}) TO '{csv_path}.tmp' (HEADER, DELIMITER ',')")
    os.rename(f"{csv_path}.tmp", csv_path)
    con.execute(
        f"COPY (SELECT *, year(order_date) AS year, month(order_date) AS month FROM ({select})) "
        f"TO '{lake}.tmp' (FORMAT PARQUET, PARTITION_BY (year, month))"
    )
    os.rename(f"{lake}.tmp", lake)
    return csv_path, lake


def parse_gib(size):
    """`2GiB`, `512MiB` → GiB as a number."""
    units = {"GiB": 1, "G": 1, "MiB": 1 / 1024, "M": 1 / 1024}
    for unit, scale in units.items():
        if size.endswith(unit):
            value = float(size[: -len(unit)]) * scale
            return int(value) if value == int(value) else value
    sys.exit(f"--limit {size}: expected GiB or MiB")


def size_on_disk(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def run(argv, may_fail=False):
    """Wall time, peak RSS (MiB, the kernel's accounting of the child) and stdout of a process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if status != 0:
        said = stderr.decode().strip().splitlines()
        if may_fail:
            error = next((line for line in said if "Error" in line), said[-1] if said else f"status {status}")
            return elapsed, usage.ru_maxrss / 1024.0, None, error
        sys.exit(f"{argv[0]} {argv[1]} failed with status {status}: {' '.join(said[-5:])}")
    return elapsed, usage.ru_maxrss / 1024.0, stdout, None


DUCKDB_RUNNER = """
import sys, time, duckdb
view, sql, out, limit, tmp = sys.argv[1:6]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"SET memory_limit = '{limit}'")
con.execute(f"SET temp_directory = '{tmp}'")
con.execute("SET preserve_insertion_order = false")
con.execute(view)
start = time.perf_counter()
con.execute(f"COPY ({sql}) TO '{out}' (HEADER, DELIMITER ',')")
print(time.perf_counter() - start)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--limit", default="1GiB", help="memory limit for both (GiB or MiB)")
    parser.add_argument("--inputs", default="parquet,csv")
    parser.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/crm-eval-target")), "release", "crm-eval"))
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first (or pass --bin)")
    csv_path, lake = generate(args.rows)
    work = tempfile.mkdtemp(prefix="crm-eval-scale-")
    sql = subprocess.run([args.bin, "sql", "rfm", "--dialect", "duckdb"], check=True,
                         capture_output=True, text=True).stdout.strip().rstrip(";")
    print(f"crm-eval: {args.bin}\nrows: {args.rows:,}  memory limit: {args.limit}  cores: {os.cpu_count()}\n")
    print(f"{'input':8} {'on disk MiB':>11} {'crm-eval s':>11} {'duckdb s':>9} {'ratio':>6} "
          f"{'crm-eval MiB':>13} {'duckdb MiB':>11}  outputs")
    for label in args.inputs.split(","):
        path = lake if label == "parquet" else csv_path
        source = (f"read_parquet('{lake}/**/*.parquet', hive_partitioning = true)" if label == "parquet"
                  else f"read_csv('{csv_path}', header = true)")
        view = (f"CREATE VIEW orders AS SELECT customer_id::VARCHAR AS customer_id, order_id::VARCHAR AS order_id, "
                f"order_date::DATE AS order_date, amount, status::VARCHAR AS status FROM {source}")
        crm_out = os.path.join(work, f"crm_{label}.csv")
        duck_out = os.path.join(work, f"duck_{label}.csv")
        crm_t, crm_mem, _, _ = run([args.bin, "rfm", path, "--memory-limit", args.limit, "-q", "-o", crm_out])
        disk = size_on_disk(path) / 2**20
        # DuckDB at the same limit; when it runs out of memory there, at twice the limit, and so
        # on, so that its time is known and the limit it needed is said.
        limit_gib = parse_gib(args.limit)
        while True:
            tmp = os.path.join(work, f"duck_tmp_{label}")
            _, duck_mem, out, failed = run(
                [sys.executable, "-c", DUCKDB_RUNNER, view, sql, duck_out, f"{limit_gib}GiB", tmp], may_fail=True)
            if not failed:
                break
            print(f"{label:8} DuckDB at memory_limit {limit_gib} GiB: {failed[:110]}", flush=True)
            if limit_gib >= 16:
                sys.exit("DuckDB failed up to 16 GiB")
            limit_gib *= 2
        duck_t = float(out.decode().strip().splitlines()[-1])
        total, diff = compare(crm_out, duck_out)
        print(f"{label:8} {disk:11.0f} {crm_t:11.1f} {duck_t:9.1f} {crm_t / duck_t:6.2f} "
              f"{crm_mem:13.0f} {duck_mem:11.0f}  {total:,} customers, {diff} differ"
              f" (DuckDB at memory_limit {limit_gib} GiB)", flush=True)
        if diff:
            sys.exit(f"outputs differ: compare {crm_out} and {duck_out}")


if __name__ == "__main__":
    main()
