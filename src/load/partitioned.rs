//! Orders larger than memory (`--memory-limit`, docs/metrics.md "Bounded memory"): the export
//! is read in pieces, each piece's rows are written to one of K partition files on disk by a
//! hash of the customer ID, and then each partition — all the rows of its customers — is built
//! into a purchase ledger of its own and handed to the command. The purchase rule is the
//! ledger's, unchanged: a customer's rows are never split across partitions, and the analysis
//! date and the cancellation marker are decided over the whole export before any partition is
//! built. The command then puts the per-customer results together and does its global steps
//! (quantile scores, tiers) on them.
//!
//! The memory held at any time is one piece of the export or one partition with its ledger,
//! plus the per-customer results; both are sized from the limit.

use crate::day::Day;
use std::fs::File;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::*;
use rayon::prelude::*;

use super::{OrdersArgs, LEDGER_ROLES};
use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::input::source::SourceInfo;
use crate::ledger::cancel::{self, Cancellations, Marker};
use crate::ledger::{Ledger, LedgerStats};
use crate::output::note;
use crate::settings::Settings;

/// Bytes of memory a row of a partition takes once read and built into its ledger (measured
/// on the 10M-row benchmark: about 120 at the peak; with room to spare).
const ROW_BYTES: u64 = 200;
/// The fewest bytes an order row takes in a CSV export, for the number of partitions before
/// the rows are counted.
const MIN_CSV_ROW_BYTES: u64 = 20;

/// A memory limit in bytes: `4GiB`, `512MiB`, `2G` (binary units), `4GB` (decimal) or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit(pub u64);

impl std::str::FromStr for MemoryLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<MemoryLimit, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("{s:?}: expected a size such as 4GiB, 512MiB or 2G"))?;
        let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "k" | "kib" => 1024.0,
            "kb" => 1e3,
            "m" | "mib" => 1024.0 * 1024.0,
            "mb" => 1e6,
            "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
            "gb" => 1e9,
            "t" | "tib" => 1024f64.powi(4),
            "tb" => 1e12,
            other => {
                return Err(format!(
                "{s:?}: unknown unit {other:?}; expected B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
            ))
            }
        };
        let bytes = (number * scale).round();
        if bytes < (1u64 << 20) as f64 {
            return Err(format!("{s:?}: expected at least 1MiB"));
        }
        Ok(MemoryLimit(bytes as u64))
    }
}

impl MemoryLimit {
    /// Bytes of text (or rows of about that size) read at a time.
    fn piece_bytes(self) -> usize {
        usize::try_from(self.0 / 8).unwrap_or(usize::MAX)
    }

    /// Rows one partition may hold.
    fn partition_rows(self) -> u64 {
        (self.0 / 2 / ROW_BYTES).max(1)
    }
}

/// Bytes of memory a whole-file run takes per byte of input on disk (measured on the 10M-order
/// benchmark: CSV 2.6, Parquet 7.4, with room to spare; compressed CSV and workbooks as Parquet).
const CSV_MEMORY_FACTOR: u64 = 3;
const COMPRESSED_MEMORY_FACTOR: u64 = 8;

/// The limit a command uses: `--memory-limit` when given; otherwise, when the orders would take
/// more than about 80 % of the memory this process may use (MemAvailable, or the cgroup's limit
/// when lower), half of that memory, said on stderr (docs/metrics.md "Bounded memory").
pub fn chosen_limit(
    given: Option<MemoryLimit>,
    path: &str,
    settings: &Settings,
) -> Result<Option<MemoryLimit>> {
    // A stream is read whole by the input layer, once; opening it here would take its bytes.
    if given.is_some() || crate::input::source::is_stream(path) {
        return Ok(given);
    }
    let Some(available) = available_memory() else {
        return Ok(None);
    };
    let mut need: u64 = 0;
    for file in crate::input::files::expand(path)? {
        let bytes = std::fs::metadata(&file.path).map_or(0, |m| m.len());
        let mut magic = [0u8; 4];
        let compressed = std::fs::File::open(&file.path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && crate::input::source::Sniffed::of(&magic).compressed();
        let factor = if compressed {
            COMPRESSED_MEMORY_FACTOR
        } else {
            CSV_MEMORY_FACTOR
        };
        need = need.saturating_add(bytes.saturating_mul(factor));
    }
    Ok(automatic(need, available).inspect(|limit| {
        note(
            &settings.output,
            format!(
                "{path}: reading it whole would take about {} MiB of the {} MiB available; \
                 reading it in partitions as with --memory-limit {}MiB",
                need >> 20,
                available >> 20,
                limit.0 >> 20
            ),
        );
    }))
}

/// [`chosen_limit`] for a command that reads partitions only when it does not group by a
/// customers-file column: grouped, `--memory-limit` is a usage error and no limit is chosen.
pub fn ungrouped_limit(
    given: Option<MemoryLimit>,
    grouped: bool,
    command: &str,
    path: &str,
    settings: &Settings,
) -> Result<Option<MemoryLimit>> {
    if grouped {
        if given.is_some() {
            return Err(usage(format!(
                "--memory-limit: {command} reads the orders in partitions only without --by"
            )));
        }
        return Ok(None);
    }
    chosen_limit(given, path, settings)
}

/// The automatic limit for a run that needs `need` bytes with `available` free: none when it
/// fits in 80 % of it, else half of what is available.
fn automatic(need: u64, available: u64) -> Option<MemoryLimit> {
    (need > available / 5 * 4).then(|| MemoryLimit((available / 2).max(1 << 20)))
}

/// The memory this process may use: `CRM_EVAL_MEMORY_AVAILABLE` (bytes; for tests and for
/// machines that say less than they have), else MemAvailable of /proc/meminfo, lowered to the
/// cgroup's memory.max when that is lower. None where neither can be read.
fn available_memory() -> Option<u64> {
    if let Some(bytes) = std::env::var("CRM_EVAL_MEMORY_AVAILABLE")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(bytes);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let mut bytes = kb * 1024;
    if let Some(max) = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
    {
        bytes = bytes.min(max);
    }
    Some(bytes)
}

/// What a partitioned run found, beside the command's per-partition results.
pub struct Partitioned<T> {
    pub info: SourceInfo,
    pub as_of: Day,
    /// The counts of every partition's ledger, added up (`rows` is every order row read).
    pub stats: LedgerStats,
    /// The command's result for each partition, in partition order.
    pub results: Vec<T>,
    /// The owner of each buyer's latest purchase, when the orders have an owner column
    /// (docs/metrics.md "Current owner"), gathered from every partition.
    pub purchase_owners: Vec<(String, Option<String>)>,
}

/// Reads `args.orders` under `limit` and calls `each` with the ledger of every partition; says
/// on stderr what loading decided, as [`super::load_ledger`] does.
pub fn each_partition<T>(
    args: &OrdersArgs,
    limit: MemoryLimit,
    optional: &[Role],
    settings: &Settings,
    mut each: impl FnMut(&Ledger) -> Result<T>,
) -> Result<Partitioned<T>> {
    let as_of = super::parse_as_of(&args.as_of)?;
    let out = &settings.output;
    fewer_arenas();
    let spill = Spill::write(&args.orders, limit, optional, settings)?;
    let as_of = match as_of.or(spill.max_day.map(|d| Day::new(d) + 1)) {
        Some(d) => d,
        None => bail!("{}: the orders table has no dated rows", spill.info.display),
    };
    let mut stats = LedgerStats {
        rows: spill.rows,
        ..LedgerStats::default()
    };
    let mut cancellations: Option<Cancellations> = None;
    let mut results = Vec::with_capacity(spill.parts.len());
    let mut purchase_owners = Vec::new();
    let watch = crate::diag::Stopwatch::new();
    let progress = crate::output::progress::Progress::new(spill.parts.len() as u64, out.quiet);
    for (k, part) in spill.parts.iter().enumerate() {
        progress.step(format!("partition {} of {}", k + 1, spill.parts.len()));
        let Some(path) = part else { continue };
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let mut df = ParquetReader::new(file)
            .finish()
            .map_err(|e| anyhow!("{}: cannot read back: {e}", path.display()))?;
        if let Some(c) = cancel::link_marked(&mut df, spill.marker)? {
            cancellations
                .get_or_insert_with(Cancellations::default)
                .add(c);
        }
        let ledger = Ledger::from_frame(df, Some(as_of))
            .map_err(|e| anyhow!("{}: {e}", spill.info.display))?;
        stats.add(&ledger.stats);
        purchase_owners.extend(crate::metrics::owner::latest_purchase_owners(&ledger));
        results.push(each(&ledger)?);
    }
    drop(progress);
    watch.lap("ledgers of the partitions");
    if let Some(c) = cancellations {
        super::note_cancellations(out, &spill.info, &c);
    }
    super::note_after_as_of(out, stats.rows_after_as_of, as_of);
    Ok(Partitioned {
        info: spill.info.clone(),
        as_of,
        stats,
        results,
        purchase_owners,
    })
}

/// Caps glibc's malloc arenas at two before the threads start: with one arena per thread, memory
/// a partition freed on one thread was not reused by the next on another, and the peak varied by
/// a tenth from run to run.
fn fewer_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before this run's
    // partitions are read, and glibc applies it to the arenas made afterwards.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The partition files of an orders export, in a temporary directory removed when dropped.
struct Spill {
    /// Removed on an interrupt while registered (declared first: dropped before the folder).
    _removed_on_interrupt: crate::paths::Temporary,
    _dir: tempfile::TempDir,
    /// One file per partition; None for a partition without rows.
    parts: Vec<Option<PathBuf>>,
    info: SourceInfo,
    rows: usize,
    max_day: Option<i32>,
    marker: Marker,
}

impl Spill {
    fn write(
        path: &str,
        limit: MemoryLimit,
        optional: &[Role],
        settings: &Settings,
    ) -> Result<Spill> {
        let out = &settings.output;
        let watch = crate::diag::Stopwatch::new();
        let partitions = partition_count(path, limit, settings)?;
        let dir = tempfile::Builder::new()
            .prefix("crm-eval-partitions-")
            .tempdir()
            .context("cannot make a temporary directory for the partitions (set TMPDIR)")?;
        // Registered at once: an interrupt while the partitions are written removes them.
        let removed_on_interrupt = crate::paths::temporary(dir.path());
        let mut writers: Vec<Option<polars::io::parquet::write::BatchedWriter<File>>> =
            (0..partitions).map(|_| None).collect();
        let mut info: Option<SourceInfo> = None;
        let mut rows = 0usize;
        let mut max_day: Option<i32> = None;
        let mut marker = Marker::default();
        let mut notes = Vec::new();
        let mut roles = LEDGER_ROLES.to_vec();
        roles.extend(optional.iter().filter(|r| !LEDGER_ROLES.contains(r)));
        let progress = crate::output::progress::Progress::new(1, out.quiet);
        progress.step(format!(
            "reading {path} in pieces into {partitions} partitions"
        ));
        crate::input::for_each_piece(
            path,
            Some(limit.piece_bytes()),
            TableKind::Orders,
            Some(&roles),
            &settings.input,
            |table| {
                notes.extend(table.notes);
                let df = table.df;
                info.get_or_insert(table.info);
                rows += df.height();
                let day = df.column("order_date")?.date()?.physical().max();
                max_day = max_day.max(day);
                marker.add(Marker::of(&df)?);
                let ids = df.column("customer_id")?.str()?;
                let mut rows_of: Vec<Vec<IdxSize>> = vec![Vec::new(); partitions];
                for (i, id) in ids.iter().enumerate() {
                    let k = partition_of(id.unwrap_or_default(), partitions);
                    rows_of[k].push(i as IdxSize);
                }
                // Each partition's rows taken and written on its own thread.
                let dir = dir.path();
                writers
                    .par_iter_mut()
                    .zip(rows_of.into_par_iter())
                    .enumerate()
                    .try_for_each(|(k, (slot, idx))| -> Result<()> {
                        if idx.is_empty() {
                            return Ok(());
                        }
                        let mut piece = df.take(&IdxCa::from_vec(PlSmallStr::EMPTY, idx))?;
                        piece.rechunk_mut();
                        let writer = match slot {
                            Some(w) => w,
                            slot => {
                                let path = part_path(dir, k);
                                let file = File::create(&path)
                                    .with_context(|| format!("{}: cannot write", path.display()))?;
                                slot.insert(
                                    ParquetWriter::new(file)
                                        .with_compression(ParquetCompression::Lz4Raw)
                                        .batched(piece.schema())?,
                                )
                            }
                        };
                        writer.write_batch(&piece).map_err(|e| {
                            anyhow!("cannot write a partition to {}: {e}", dir.display())
                        })
                    })?;
                Ok(())
            },
        )?;
        let mut parts: Vec<Option<PathBuf>> = Vec::with_capacity(partitions);
        for (k, writer) in writers.iter().enumerate() {
            parts.push(match writer {
                Some(w) => {
                    w.finish()
                        .map_err(|e| anyhow!("cannot write a partition: {e}"))?;
                    Some(part_path(dir.path(), k))
                }
                None => None,
            });
        }
        drop(progress);
        let Some(mut info) = info else {
            bail!("{path}: no order rows after the header");
        };
        info.display = path.to_string();
        for line in crate::input::capped_notes(notes) {
            note(out, line);
        }
        if rows == 0 {
            bail!("{path}: no order rows after the header");
        }
        watch.lap("orders read into partitions");
        Ok(Spill {
            _removed_on_interrupt: removed_on_interrupt,
            _dir: dir,
            parts,
            info,
            rows,
            max_day,
            marker,
        })
    }
}

fn part_path(dir: &std::path::Path, k: usize) -> PathBuf {
    dir.join(format!("part-{k:05}.parquet"))
}

/// How many partitions keep each under the limit: from the row counts of Parquet files, and
/// from the size of anything else at [`MIN_CSV_ROW_BYTES`] a row.
fn partition_count(path: &str, limit: MemoryLimit, settings: &Settings) -> Result<usize> {
    let mut rows: u64 = 0;
    for file in crate::input::files::expand(path)? {
        if file.path == "-" {
            return Err(usage(
                "--memory-limit reads the orders twice over: give a file, not standard input",
            ));
        }
        let raw = crate::input::source::open(&file.path, &settings.input.read)?;
        rows += match raw.info.container {
            crate::input::source::Container::Parquet => {
                let f = File::open(&file.path)
                    .with_context(|| format!("{}: cannot open", file.path))?;
                ParquetReader::new(f).num_rows().unwrap_or(0) as u64
            }
            _ => std::fs::metadata(&file.path).map_or(0, |m| m.len()) / MIN_CSV_ROW_BYTES,
        };
    }
    Ok(rows.div_ceil(limit.partition_rows()).clamp(1, 4096) as usize)
}

/// The partition of a customer: FNV-1a of its ID, so the same on every machine and run.
fn partition_of(id: &str, partitions: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % partitions as u64) as usize
}

/// Per-customer tables of the partitions as one, sorted by customer_id in byte order (the
/// order of a ledger's customers, so the table is the one a single ledger gives).
pub fn by_customer(tables: Vec<DataFrame>) -> Result<DataFrame> {
    let mut tables = tables.into_iter();
    let Some(mut all) = tables.next() else {
        bail!("no partition has a customer");
    };
    for t in tables {
        all.vstack_mut_owned(t)?;
    }
    let order: IdxCa = {
        let ids = all.column("customer_id")?.str()?.rechunk();
        let values: Vec<&str> = ids.iter().map(Option::unwrap_or_default).collect();
        let mut order: Vec<IdxSize> = (0..values.len() as IdxSize).collect();
        order.sort_unstable_by(|&a, &b| values[a as usize].cmp(values[b as usize]));
        IdxCa::from_vec(PlSmallStr::EMPTY, order)
    };
    // A column at a time, each freed once copied: the table is held about once, not twice.
    let names: Vec<PlSmallStr> = all.get_column_names().into_iter().cloned().collect();
    let mut columns = Vec::with_capacity(names.len());
    for name in &names {
        let column = all.drop_in_place(name).map_err(|e| anyhow!("{e}"))?;
        columns.push(column.take(&order)?);
    }
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_analysts_write_them() {
        let gib = 1u64 << 30;
        assert_eq!("4GiB".parse(), Ok(MemoryLimit(4 * gib)));
        assert_eq!("4G".parse(), Ok(MemoryLimit(4 * gib)));
        assert_eq!("4GB".parse(), Ok(MemoryLimit(4_000_000_000)));
        assert_eq!("1.5gib".parse(), Ok(MemoryLimit(3 * gib / 2)));
        assert_eq!("512 MiB".parse(), Ok(MemoryLimit(512 << 20)));
        assert!("4 parsecs".parse::<MemoryLimit>().is_err());
        assert!("100KiB".parse::<MemoryLimit>().is_err());
        assert_eq!(partition_of("C00000001", 7), partition_of("C00000001", 7));
        assert_eq!(automatic(7 << 30, 16 << 30), None);
        assert_eq!(automatic(14 << 30, 16 << 30), Some(MemoryLimit(8 << 30)));
    }
}
