//! Turns a path (or `-`) into a raw polars DataFrame: detects the container (CSV/TSV, gzip, zstd,
//! Parquet, Excel), the text encoding and the delimiter. Nothing here knows what the columns mean.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::*;

use crate::error::UsageError;

/// The encoding of a text export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncodingChoice {
    /// Strict UTF-8 first (BOM or not), GB18030 only when that fails, UTF-16 when a BOM says so.
    #[default]
    Auto,
    #[value(name = "utf-8", alias = "utf8")]
    #[serde(alias = "utf8")]
    Utf8,
    /// GBK is a subset of GB18030, so both names decode the same way.
    #[value(alias = "gb18030")]
    #[serde(alias = "gb18030")]
    Gbk,
    #[value(name = "utf-16")]
    Utf16,
}

/// The file container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Csv,
    Parquet,
    Excel,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Csv => "csv",
            Container::Parquet => "parquet",
            Container::Excel => "excel",
        }
    }
}

/// What was detected about a source, for `inspect`, warnings and error messages.
#[derive(Clone, Debug)]
pub struct SourceInfo {
    /// The path as the user wrote it, or `<stdin>`.
    pub display: String,
    pub container: Container,
    pub compression: Option<&'static str>,
    pub encoding: Option<&'static str>,
    pub delimiter: Option<u8>,
    pub sheet: Option<String>,
    /// The spreadsheet row number of the first data row (2 when a header row precedes it), so
    /// that error messages point at the row an analyst sees in Excel.
    pub first_row_number: usize,
}

impl SourceInfo {
    /// The row number to show for the 0-based data row `index`.
    pub fn row_number(&self, index: usize) -> usize {
        index + self.first_row_number
    }
}

/// Options for reading the bytes of a source, independent of what the table means.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub encoding: EncodingChoice,
    pub delimiter: Option<u8>,
    pub sheet: Option<String>,
    /// `--no-header --names a,b,c`: the CSV has no header row; these are its column names.
    pub names: Option<Vec<String>>,
}

/// What to say of a header row that looks like data.
pub const NO_HEADER_HINT: &str = "the first row looks like data, not a header: if the file has \
     no header row, pass --no-header --names NAME,NAME,… (one name per column), or its first \
     record is read as the header";

/// Whether a header row looks like a row of data: more than half of its cells are dates,
/// numbers or long codes mixing letters and digits, one of them a date or a number (the public
/// Olist lead list: a hash, a timestamp, a hash, `social`). Said with the hint `--no-header`.
pub fn header_looks_like_data(headers: &[String]) -> bool {
    let date = |h: &str| {
        let b = h.as_bytes();
        b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && matches!(b[4], b'-' | b'/' | b'.')
    };
    let number = |h: &str| !h.is_empty() && h.parse::<f64>().is_ok();
    let code = |h: &str| {
        h.len() >= 8
            && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && h.bytes().any(|b| b.is_ascii_digit())
            && h.bytes().any(|b| b.is_ascii_alphabetic())
    };
    let strong = headers.iter().filter(|h| date(h) || number(h)).count();
    let like = headers
        .iter()
        .filter(|h| date(h) || number(h) || code(h))
        .count();
    headers.len() >= 2 && strong >= 1 && like * 2 > headers.len()
}

/// A source read into memory: its headers, then the data for the columns asked for.
pub struct RawSource {
    pub info: SourceInfo,
    pub headers: Vec<String>,
    /// The first data rows of a CSV source as text (empty for Parquet and Excel), used to decide
    /// which columns polars may parse itself.
    pub sample: Vec<Vec<String>>,
    pub(super) body: Body,
}

pub(super) enum Body {
    /// A plain UTF-8 CSV file on disk that polars can memory-map itself (the fast path).
    CsvPath(PathBuf),
    /// Decoded UTF-8 CSV bytes.
    CsvBytes(Vec<u8>),
    Parquet(Vec<u8>),
    ParquetPath(PathBuf),
    /// Rows `offset..offset + len` of a Parquet file (a piece of it, [`super::pieces`]).
    ParquetSlice(PathBuf, usize, usize),
    /// An Excel sheet already turned into text columns.
    Frame(DataFrame),
}

/// Whether `path` can be read only once: standard input (`-`), a pipe, a FIFO, a process
/// substitution (/dev/fd/N), a socket — anything but a regular file. Nothing may open such a path
/// before [`open`] reads it whole.
pub fn is_stream(path: &str) -> bool {
    path == "-"
        || std::fs::metadata(path)
            .map(|m| !m.is_file() && !m.is_dir())
            .unwrap_or(false)
}

/// Opens a source and reads its headers. The data itself is read by [`RawSource::read`].
pub fn open(path: &str, opts: &ReadOptions) -> Result<RawSource> {
    let display = if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    };
    if path != "-" {
        let p = Path::new(path);
        if p.is_dir() {
            bail!("{display}: is a directory, expected a CSV, Parquet or Excel file");
        }
        if !p.exists() {
            return Err(anyhow!(UsageError(format!("{display}: no such file"))));
        }
        crate::paths::will_read(p)?;
    }
    let mut info = SourceInfo {
        display: display.clone(),
        container: Container::Csv,
        compression: None,
        encoding: None,
        delimiter: None,
        sheet: None,
        first_row_number: 2,
    };

    // A pipe, a FIFO, a process substitution (`<(…)`, /dev/fd/N) or /dev/stdin can be read
    // once only: it is read whole here, as standard input is, and never opened again (a second
    // open of a FIFO whose writer is done blocks forever; of `<(…)`, it misses what was read).
    let stream = is_stream(path);
    // Peek at the magic bytes to tell containers apart regardless of the file name.
    let (magic, whole) = if stream {
        let mut buf = Vec::new();
        if path == "-" {
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .with_context(|| format!("{display}: cannot read standard input"))?;
        } else {
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut buf))
                .with_context(|| format!("{display}: cannot read"))?;
        }
        (buf.iter().take(8).copied().collect::<Vec<u8>>(), Some(buf))
    } else {
        let mut f = File::open(path).with_context(|| format!("{display}: cannot open"))?;
        let mut magic = vec![0u8; 8];
        let n =
            read_up_to(&mut f, &mut magic).with_context(|| format!("{display}: cannot read"))?;
        magic.truncate(n);
        (magic, None)
    };
    let read_all = |whole: Option<Vec<u8>>| -> Result<Vec<u8>> {
        match whole {
            Some(b) => Ok(b),
            None => std::fs::read(path).with_context(|| format!("{display}: cannot read")),
        }
    };

    let sniffed = Sniffed::of(&magic);
    if sniffed == Sniffed::Parquet {
        info.container = Container::Parquet;
        info.first_row_number = 1;
        let body = match whole {
            Some(bytes) => Body::Parquet(bytes),
            None => Body::ParquetPath(PathBuf::from(path)),
        };
        let headers = parquet_headers(&body, &display)?;
        return Ok(RawSource {
            info,
            headers,
            sample: Vec::new(),
            body,
        });
    }
    if sniffed == Sniffed::Excel {
        info.container = Container::Excel;
        let bytes = read_all(whole)?;
        let (frame, headers, sheet, header_row) =
            read_excel(bytes, opts.sheet.as_deref(), &display)?;
        info.sheet = Some(sheet);
        info.first_row_number = header_row + 1;
        return Ok(RawSource {
            info,
            headers,
            sample: Vec::new(),
            body: Body::Frame(frame),
        });
    }

    if let Some(format) = unsupported_compression(&magic) {
        bail!(
            "{display}: a {format}-compressed file; crm-eval reads plain, gzip (.gz) and zstd \
             (.zst) text: decompress it first, or pipe it in (`{unpack} | crm-eval … -`)",
            unpack = match format {
                "bzip2" => format!("bzcat {path}"),
                "xz" => format!("xzcat {path}"),
                "7-Zip" => format!("7z x -so {path}"),
                _ => format!("lz4cat {path}"),
            }
        );
    }
    // Text: maybe compressed, then decoded to UTF-8.
    let compression = match sniffed {
        Sniffed::Gzip => Some("gzip"),
        Sniffed::Zstd => Some("zstd"),
        _ => None,
    };
    info.compression = compression;
    // Without a header row the names are written in front of the text: read it whole.
    let plain_file = whole.is_none() && compression.is_none() && opts.names.is_none();
    if plain_file && opts.encoding != EncodingChoice::Gbk && opts.encoding != EncodingChoice::Utf16
    {
        // Fast path: a UTF-8 file is handed to polars by path, so it is memory-mapped and parsed in
        // parallel without a copy. Only a prefix is read here, for the header and the delimiter.
        let prefix =
            read_prefix(path, 256 * 1024).with_context(|| format!("{display}: cannot read"))?;
        let prefix_text = valid_utf8_prefix(&prefix);
        if let Some(text) = prefix_text {
            info.encoding = Some(if text.starts_with('\u{feff}') {
                "utf-8 (BOM)"
            } else {
                "utf-8"
            });
            let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(text));
            info.delimiter = Some(delimiter);
            let complete = prefix.len() < 256 * 1024;
            let (headers, sample) = csv_head(text, delimiter, complete, &display)?;
            return Ok(RawSource {
                info,
                headers,
                sample,
                body: Body::CsvPath(PathBuf::from(path)),
            });
        }
    }
    let bytes = read_all(whole)?;
    let bytes = match compression {
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .with_context(|| format!("{display}: not a valid gzip stream"))?;
            out
        }
        Some(_) => zstd::stream::decode_all(&bytes[..])
            .with_context(|| format!("{display}: not a valid zstd stream"))?,
        None => bytes,
    };
    let (text, encoding) = decode_text(bytes, opts.encoding, &display)?;
    info.encoding = Some(encoding);
    let text = match &opts.names {
        Some(names) => {
            // `--no-header --names a,b,c`: the names become the header; data starts at line 1.
            let head = std::str::from_utf8(&text[..text.len().min(256 * 1024)]).unwrap_or("");
            let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(head));
            let mut named = names.join(&(delimiter as char).to_string()).into_bytes();
            named.push(b'\n');
            named.extend_from_slice(&text);
            info.first_row_number = 1;
            named
        }
        None => text,
    };
    let text_str = std::str::from_utf8(&text)
        .map_err(|_| anyhow!("{display}: decoded text is not valid UTF-8"))?;
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&text_str[..floor_char_boundary(text_str, 256 * 1024)]));
    info.delimiter = Some(delimiter);
    let (headers, sample) = csv_head(text_str, delimiter, true, &display)?;
    Ok(RawSource {
        info,
        headers,
        sample,
        body: Body::CsvBytes(text),
    })
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn read_prefix(path: &str, len: usize) -> std::io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; len];
    let n = read_up_to(&mut f, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// The prefix as text if it is valid UTF-8, allowing a character cut off at the end.
fn valid_utf8_prefix(prefix: &[u8]) -> Option<&str> {
    match std::str::from_utf8(prefix) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&prefix[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

/// Decodes text to UTF-8. Strict UTF-8 is tried before GB18030 because the reverse order silently
/// garbles UTF-8 (almost any byte sequence is "valid" GB18030).
pub(super) fn decode_text(
    bytes: Vec<u8>,
    choice: EncodingChoice,
    display: &str,
) -> Result<(Vec<u8>, &'static str)> {
    let utf16_bom = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    match choice {
        EncodingChoice::Auto if utf16_bom => decode_utf16(&bytes, display),
        EncodingChoice::Utf16 => decode_utf16(&bytes, display),
        EncodingChoice::Auto | EncodingChoice::Utf8 => {
            let has_bom = bytes.starts_with(b"\xEF\xBB\xBF");
            match String::from_utf8(bytes) {
                Ok(s) => Ok((
                    s.into_bytes(),
                    if has_bom { "utf-8 (BOM)" } else { "utf-8" },
                )),
                Err(e) if choice == EncodingChoice::Auto => decode_gb18030(e.into_bytes(), display),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    bail!(
                        "{display}: not valid UTF-8 (first bad byte at offset {at}); \
                         try --encoding gbk or --encoding auto"
                    )
                }
            }
        }
        EncodingChoice::Gbk => decode_gb18030(bytes, display),
    }
}

/// The compressed formats told apart by their magic bytes that are not read: named in the
/// error instead of "neither UTF-8 nor GBK".
/// What a file's first bytes say it is, whatever its name: the one place the containers are told
/// apart (reading, and the memory estimate of `--memory-limit auto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Parquet,
    /// xlsx (a zip) or xls (an OLE compound file).
    Excel,
    Gzip,
    Zstd,
    /// Anything else: text, or a compression crm-eval names in its error.
    Other,
}

impl Sniffed {
    pub fn of(magic: &[u8]) -> Sniffed {
        if magic.starts_with(b"PAR1") {
            Sniffed::Parquet
        } else if magic.starts_with(b"PK\x03\x04") || magic.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            Sniffed::Excel
        } else if magic.starts_with(&[0x1F, 0x8B]) {
            Sniffed::Gzip
        } else if magic.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            Sniffed::Zstd
        } else {
            Sniffed::Other
        }
    }

    /// Whether the file is smaller than the data it holds (a memory estimate reads it so).
    pub fn compressed(self) -> bool {
        self != Sniffed::Other
    }
}

fn unsupported_compression(magic: &[u8]) -> Option<&'static str> {
    if magic.len() >= 4 && magic.starts_with(b"BZh") && magic[3].is_ascii_digit() {
        Some("bzip2")
    } else if magic.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Some("xz")
    } else if magic.starts_with(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        Some("7-Zip")
    } else if magic.starts_with(&[0x04, 0x22, 0x4D, 0x18]) {
        Some("lz4")
    } else {
        None
    }
}

fn decode_gb18030(bytes: Vec<u8>, display: &str) -> Result<(Vec<u8>, &'static str)> {
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(&bytes);
    if had_errors {
        bail!(
            "{display}: the text is neither UTF-8 nor GBK/GB18030; \
             save it as UTF-8 or name the encoding with --encoding"
        );
    }
    Ok((text.into_owned().into_bytes(), "gb18030"))
}

fn decode_utf16(bytes: &[u8], display: &str) -> Result<(Vec<u8>, &'static str)> {
    let (encoding, name) = if bytes.starts_with(&[0xFE, 0xFF]) {
        (encoding_rs::UTF_16BE, "utf-16be")
    } else {
        (encoding_rs::UTF_16LE, "utf-16le")
    };
    let (text, _, had_errors) = encoding.decode(bytes);
    if had_errors {
        bail!("{display}: not valid {name} text");
    }
    Ok((text.into_owned().into_bytes(), name))
}

/// Picks the delimiter that splits the first lines into the same number of fields, preferring the
/// one that gives the most fields. Quoted text is skipped. Falls back to a comma.
pub fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(50)
        .collect();
    // The last line of a prefix may be cut off mid-record.
    let lines = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best = (b',', 0usize, false);
    for candidate in [b',', b'\t', b';', b'|'] {
        let counts: Vec<usize> = lines
            .iter()
            .map(|line| count_unquoted(line, candidate))
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().all(|&c| c == first);
        let better = match (consistent, best.2) {
            (true, false) => true,
            (false, true) => false,
            _ => first > best.1,
        };
        if better {
            best = (candidate, first, consistent);
        }
    }
    best.0
}

fn count_unquoted(line: &str, delimiter: u8) -> usize {
    let mut in_quotes = false;
    let mut count = 0;
    for b in line.bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == delimiter && !in_quotes {
            count += 1;
        }
    }
    count
}

/// The header row and up to [`SAMPLE_ROWS`] data rows from the start of a CSV text. `complete`
/// says whether `text` is the whole file; if not, its last record may be cut off and is dropped.
fn csv_head(
    text: &str,
    delimiter: u8,
    complete: bool,
    display: &str,
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let text = text.trim_start_matches('\u{feff}');
    // NUL bytes in or before the header: a damaged or binary file. Read on, they turned a header
    // such as order_id into another name and the column was lost without a word.
    let header_end = text.find('\n').unwrap_or(text.len());
    if let Some(at) = text[..header_end].find('\0') {
        bail!(
            "{display}: NUL bytes in the header row (the first at byte {at}): the file is \
             damaged or not a text export; re-export it, or cut the bytes before the header"
        );
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let headers = loop {
        match reader.read_record(&mut record) {
            Ok(true) if record.iter().all(|f| f.trim().is_empty()) => continue,
            Ok(true) => {
                break record
                    .iter()
                    .map(|h| h.trim().to_string())
                    .collect::<Vec<_>>()
            }
            Ok(false) => bail!("{display}: the file is empty; expected a header row"),
            Err(e) => bail!("{display}: cannot read the header row: {e}"),
        }
    };
    let mut sample = Vec::new();
    while sample.len() <= SAMPLE_ROWS {
        match reader.read_record(&mut record) {
            Ok(true) => sample.push(record.iter().map(str::to_string).collect::<Vec<_>>()),
            _ => break,
        }
    }
    if !complete || sample.len() > SAMPLE_ROWS {
        sample.pop();
    }
    Ok((headers, sample))
}

/// How many data rows [`RawSource::sample`] holds.
pub const SAMPLE_ROWS: usize = 200;

fn parquet_headers(body: &Body, display: &str) -> Result<Vec<String>> {
    let schema = match body {
        Body::Parquet(bytes) => ParquetReader::new(Cursor::new(bytes.as_slice())).schema(),
        Body::ParquetPath(p) => {
            ParquetReader::new(File::open(p).with_context(|| format!("{display}: cannot open"))?)
                .schema()
        }
        _ => unreachable!("parquet_headers is only called for Parquet bodies"),
    }
    .map_err(|e| {
        anyhow!(
            "{display}: not a readable Parquet file: {}",
            polars_message(&e)
        )
    })?;
    Ok(schema.iter_names().map(|n| n.to_string()).collect())
}

/// Reads the chosen sheet into text columns. Returns the frame, its headers, the sheet name and the
/// spreadsheet row number of the header row.
fn read_excel(
    bytes: Vec<u8>,
    sheet: Option<&str>,
    display: &str,
) -> Result<(DataFrame, Vec<String>, String, usize)> {
    use calamine::{Data, Reader};
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .with_context(|| format!("{display}: not a readable Excel workbook"))?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .cloned()
            .ok_or_else(|| {
                anyhow!(UsageError(format!(
                    "{display}: no sheet named {wanted:?}; the workbook has {}",
                    names.join(", ")
                )))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("{display}: the workbook has no sheets"))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .with_context(|| format!("{display}: cannot read sheet {name:?}"))?;
    let (start_row, _) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows().enumerate().skip_while(|(_, r)| {
        r.iter()
            .all(|c| matches!(c, Data::Empty) || c.to_string().trim().is_empty())
    });
    let Some((header_index, header_row)) = rows.next() else {
        bail!("{display}: sheet {name:?} is empty; expected a header row");
    };
    let headers: Vec<String> = header_row
        .iter()
        .enumerate()
        .map(|(i, c)| match c.to_string().trim() {
            "" => format!("column_{}", i + 1),
            h => h.to_string(),
        })
        .collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); headers.len()];
    for (_, row) in rows {
        for (i, column) in columns.iter_mut().enumerate() {
            column.push(row.get(i).and_then(excel_cell_text));
        }
    }
    let series: Vec<Column> = headers
        .iter()
        .zip(columns)
        .map(|(h, values)| Column::new(h.as_str().into(), values))
        .collect();
    let frame = DataFrame::new_infer_height(series)
        .map_err(|e| anyhow!("{display}: sheet {name:?}: {}", polars_message(&e)))?;
    Ok((frame, headers, name, start_row as usize + header_index + 1))
}

/// The first other sheet of the workbook `info` was read from whose header row `fits` (for the
/// missing-column error; the file is opened again, so a stream has no hint).
pub fn other_sheet_with(info: &SourceInfo, fits: &dyn Fn(&[String]) -> bool) -> Option<String> {
    use calamine::{Data, Reader};
    if info.container != Container::Excel || is_stream(&info.display) {
        return None;
    }
    let mut workbook = calamine::open_workbook_auto(&info.display).ok()?;
    let names = workbook.sheet_names();
    names
        .into_iter()
        .filter(|n| Some(n) != info.sheet.as_ref())
        .find(|name| {
            let Ok(range) = workbook.worksheet_range(name) else {
                return false;
            };
            let header = range.rows().find(|r| {
                !r.iter()
                    .all(|c| matches!(c, Data::Empty) || c.to_string().trim().is_empty())
            });
            header.is_some_and(|r| {
                let headers: Vec<String> =
                    r.iter().map(|c| c.to_string().trim().to_string()).collect();
                fits(&headers)
            })
        })
}

/// A cell as the text our value parsers understand: dates as ISO, numbers without float noise.
fn excel_cell_text(cell: &calamine::Data) -> Option<String> {
    use calamine::Data;
    match cell {
        Data::Empty => None,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{f:.0}")
        } else {
            f.to_string()
        }),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            Some(format!(
                "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{ms:03}"
            ))
        }
        Data::Error(e) => Some(format!("#{e:?}")),
    }
}

impl RawSource {
    /// Reads the named columns (all of them when `columns` is None) as a DataFrame. CSV columns are
    /// read as text, so that the value parsers see exactly what the export wrote.
    pub fn read(
        &self,
        columns: Option<&[String]>,
        typed: &[(String, DataType)],
        opts: &ReadOptions,
    ) -> Result<(DataFrame, SourceInfo)> {
        let display = &self.info.display;
        let frame = match &self.body {
            Body::CsvPath(_) | Body::CsvBytes(_) if !typed.is_empty() => {
                // Let polars parse the columns the sample showed to be plain numbers or ISO dates
                // (fast, in parallel, no text copy). Anything it cannot take cleanly — an error, a
                // null, a non-finite number — sends the whole read back to text, so the value
                // parsers report the exact cell.
                match self.read_csv(columns, typed, opts) {
                    Ok(df) if typed_columns_clean(&df, typed) => Ok(df),
                    _ => self.read_csv(columns, &[], opts),
                }
            }
            Body::CsvPath(_) | Body::CsvBytes(_) => self.read_csv(columns, &[], opts),
            Body::Parquet(bytes) => {
                let cols = columns.map(|c| c.to_vec());
                ParquetReader::new(Cursor::new(bytes.as_slice()))
                    .with_columns(cols)
                    .finish()
                    .map_err(|e| anyhow!("{display}: cannot read the data: {}", polars_message(&e)))
            }
            Body::ParquetPath(p) => read_parquet_file(p, columns, None, display),
            Body::ParquetSlice(p, offset, len) => {
                read_parquet_file(p, columns, Some((*offset, *len)), display)
            }
            Body::Frame(df) => match columns {
                Some(cols) => df.select(cols.iter().map(|c| PlSmallStr::from(c.as_str()))),
                None => Ok(df.clone()),
            }
            .map_err(|e| anyhow!("{display}: cannot read the data: {}", polars_message(&e))),
        }?;
        Ok((frame, self.info.clone()))
    }

    fn read_csv(
        &self,
        columns: Option<&[String]>,
        typed: &[(String, DataType)],
        opts: &ReadOptions,
    ) -> Result<DataFrame> {
        let display = &self.info.display;
        let separator = self.info.delimiter.unwrap_or(b',');
        let csv_options = || {
            let mut o = CsvReadOptions::default()
                .with_has_header(true)
                // Every other column as text: ids keep leading zeros, our parsers see every cell.
                .with_infer_schema_length(Some(0))
                .with_raise_if_empty(false)
                .map_parse_options(|p| {
                    p.with_separator(separator)
                        .with_quote_char(Some(b'"'))
                        .with_missing_is_null(true)
                });
            if let Some(cols) = columns {
                let names: Arc<[PlSmallStr]> =
                    cols.iter().map(|c| PlSmallStr::from(c.as_str())).collect();
                o = o.with_columns(Some(names));
            }
            if !typed.is_empty() {
                let schema: Schema = typed
                    .iter()
                    .map(|(name, dtype)| Field::new(name.as_str().into(), dtype.clone()))
                    .collect();
                o = o.with_schema_overwrite(Some(Arc::new(schema)));
            }
            o
        };
        let frame = match &self.body {
            Body::CsvPath(p) => {
                let direct = csv_options()
                    .try_into_reader_with_file_path(Some(p.clone()))
                    .and_then(|r| r.finish());
                match direct {
                    // The prefix was UTF-8 but something further on is not: decode the whole file
                    // (GB18030 under `auto`) and read it from memory instead.
                    Err(e) if is_utf8_error(&e) && opts.encoding == EncodingChoice::Auto => {
                        let bytes =
                            std::fs::read(p).with_context(|| format!("{display}: cannot read"))?;
                        let (text, _) = decode_text(bytes, opts.encoding, display)?;
                        csv_options()
                            .into_reader_with_file_handle(Cursor::new(text))
                            .finish()
                    }
                    other => other,
                }
            }
            Body::CsvBytes(bytes) => csv_options()
                .into_reader_with_file_handle(Cursor::new(bytes.as_slice()))
                .finish(),
            _ => unreachable!("read_csv is only called for CSV bodies"),
        };
        frame.map_err(|e| anyhow!("{display}: cannot read the data: {}", polars_message(&e)))
    }
}

/// The named columns of a Parquet file, or of rows `offset..offset + len` of it.
fn read_parquet_file(
    path: &Path,
    columns: Option<&[String]>,
    slice: Option<(usize, usize)>,
    display: &str,
) -> Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("{display}: cannot open"))?;
    ParquetReader::new(file)
        .with_columns(columns.map(|c| c.to_vec()))
        .with_slice(slice)
        .finish()
        .map_err(|e| anyhow!("{display}: cannot read the data: {}", polars_message(&e)))
}

/// True when every typed column came through without a null or a non-finite number.
fn typed_columns_clean(df: &DataFrame, typed: &[(String, DataType)]) -> bool {
    typed.iter().all(|(name, _)| {
        df.column(name).is_ok_and(|c| {
            c.null_count() == 0
                && c.as_materialized_series()
                    .f64()
                    .map_or(true, |f| f.iter().all(|v| v.is_some_and(f64::is_finite)))
        })
    })
}

fn is_utf8_error(e: &PolarsError) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("utf-8") || text.contains("utf8")
}

/// A polars error as one readable line (its Display includes the variant name and backtrace hints).
pub fn polars_message(e: &PolarsError) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    first.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_by_their_first_bytes() {
        assert_eq!(Sniffed::of(b"PAR1\x15\x04"), Sniffed::Parquet);
        assert_eq!(Sniffed::of(b"PK\x03\x04\x14\x00"), Sniffed::Excel);
        assert_eq!(Sniffed::of(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1]), Sniffed::Excel);
        assert_eq!(Sniffed::of(&[0x1F, 0x8B, 0x08]), Sniffed::Gzip);
        assert_eq!(Sniffed::of(&[0x28, 0xB5, 0x2F, 0xFD]), Sniffed::Zstd);
        assert_eq!(Sniffed::of(b"customer_id,amount"), Sniffed::Other);
        assert_eq!(
            Sniffed::of(b"PA"),
            Sniffed::Other,
            "a file shorter than a magic"
        );
        assert!(Sniffed::Excel.compressed() && !Sniffed::Other.compressed());
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n4,5,6\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2,5\t3\n"), b'\t');
        assert_eq!(
            sniff_delimiter("a;b;c\n1;\"2;x\";3\n4;5,1;6\n7;8;9\n"),
            b';'
        );
        assert_eq!(sniff_delimiter("a|b\n1|2\n"), b'|');
        assert_eq!(sniff_delimiter("single\n1\n"), b',');
    }

    #[test]
    fn utf8_is_tried_before_gb18030() {
        let utf8 = "客户编号,金额\n".as_bytes().to_vec();
        let (text, enc) = decode_text(utf8.clone(), EncodingChoice::Auto, "x").unwrap();
        assert_eq!((text, enc), (utf8, "utf-8"));
        let (gbk, _, _) = encoding_rs::GBK.encode("客户编号,金额\n");
        let (text, enc) = decode_text(gbk.into_owned(), EncodingChoice::Auto, "x").unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), "客户编号,金额\n");
        assert_eq!(enc, "gb18030");
    }
}
