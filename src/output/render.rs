//! Renderers: one function per format, all fed the same cells.

use std::io::Write;

use anyhow::{anyhow, Context, Result};
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use polars::prelude::*;
use rayon::prelude::*;
use rust_xlsxwriter::{Format as XlsxFormat, Workbook};

use super::cells::{column_cells, whole_numbers, Cell};
use super::{share_columns, Format, OutputOptions};
use crate::error::usage;

pub fn render(
    sheets: &[(&str, &DataFrame)],
    opts: &OutputOptions,
    w: &mut dyn Write,
) -> Result<()> {
    match opts.format {
        Format::Table => {
            for (i, (title, df)) in sheets.iter().enumerate() {
                if sheets.len() > 1 {
                    writeln!(w, "{}{title}", if i > 0 { "\n" } else { "" })?;
                }
                write_table(df, w, opts.screen, opts.all)?;
            }
            Ok(())
        }
        Format::Markdown => {
            for (i, (title, df)) in sheets.iter().enumerate() {
                if sheets.len() > 1 {
                    writeln!(w, "{}## {title}\n", if i > 0 { "\n" } else { "" })?;
                }
                write_markdown(df, w)?;
            }
            Ok(())
        }
        Format::Csv | Format::Tsv => {
            if opts.bom {
                w.write_all(b"\xEF\xBB\xBF")?;
            }
            let delimiter = if opts.format == Format::Tsv { b'\t' } else { b',' };
            for (i, (_, df)) in sheets.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                write_delimited(df, delimiter, w)?;
            }
            Ok(())
        }
        Format::Json => write_json(sheets, w),
        Format::Ndjson => {
            for (title, df) in sheets {
                let tag = (sheets.len() > 1).then_some(*title);
                write_ndjson(df, tag, w)?;
            }
            Ok(())
        }
        Format::Parquet => match sheets {
            [(_, df)] => {
                let mut df = (*df).clone();
                ParquetWriter::new(w)
                    .finish(&mut df)
                    .map_err(|e| anyhow!("cannot write Parquet: {e}"))?;
                Ok(())
            }
            _ => Err(usage(
                "this command produces several tables; Parquet holds one, so choose xlsx, json or csv",
            )),
        },
        Format::Arrow => match sheets {
            [(_, df)] => {
                let mut df = (*df).clone();
                IpcWriter::new(w)
                    .finish(&mut df)
                    .map_err(|e| anyhow!("cannot write Arrow IPC: {e}"))?;
                Ok(())
            }
            _ => Err(usage(
                "this command produces several tables; an Arrow file holds one, so choose xlsx or json",
            )),
        },
        Format::Xlsx => write_xlsx(sheets, w),
        Format::Html => super::html::write_sheets(sheets, w),
    }
}

/// Every column of `df` as display cells (shared by the text, xlsx and HTML renderers).
pub(super) fn columns_cells(df: &DataFrame) -> Result<Vec<Vec<Cell<'_>>>> {
    df.columns()
        .iter()
        .map(|c| column_cells(c).map_err(|e| anyhow!("cannot render column {}: {e}", c.name())))
        .collect()
}

fn numeric_column(cells: &[Cell<'_>], dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || cells.iter().any(Cell::is_numeric)
}

/// A table as a person reads it: numbers grouped, shares as percentages. On a terminal
/// (`screen`) it fits: a screenful of rows (unless `all`) with the count of the rest, middle
/// columns left out with their names when too wide, and a one-row table too wide for the screen
/// shown as `column | value` lines.
fn write_table(
    df: &DataFrame,
    w: &mut dyn Write,
    screen: Option<super::Screen>,
    all: bool,
) -> Result<()> {
    let cells = columns_cells(df)?;
    let shares = share_columns(df);
    let whole: Vec<bool> = cells.iter().map(|c| whole_numbers(c)).collect();
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    let numeric: Vec<bool> = df
        .columns()
        .iter()
        .zip(&cells)
        .map(|(c, cells)| numeric_column(cells, c.dtype()))
        .collect();
    let max_rows = match (screen, all) {
        (Some(s), false) => s.height.saturating_sub(8).max(5),
        _ => usize::MAX,
    };
    let shown = df.height().min(max_rows);
    let text: Vec<Vec<String>> = cells
        .iter()
        .enumerate()
        .map(|(c, col)| {
            col[..shown]
                .iter()
                .map(|cell| cell.human(shares[c], whole[c]))
                .collect()
        })
        .collect();
    let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    let widths: Vec<usize> = (0..names.len())
        .map(|c| {
            text[c]
                .iter()
                .map(|t| width(t))
                .fold(width(names[c]), usize::max)
        })
        .collect();
    // Each column takes its width, two spaces of padding and a border; plus the last border.
    let total: usize = widths.iter().map(|w| w + 3).sum::<usize>() + 1;
    let room = screen.map_or(usize::MAX, |s| s.width);
    if total > room && shown == 1 && df.height() == 1 {
        let mut table = Table::new();
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(room.min(u16::MAX as usize) as u16)
            .set_header(["column", "value"]);
        for (c, name) in names.iter().enumerate() {
            table.add_row([name.to_string(), text[c][0].clone()]);
        }
        writeln!(w, "{table}")?;
        return Ok(());
    }
    let keep = fitting_columns(&widths, room);
    let hidden: Vec<&str> = (0..names.len())
        .filter(|c| !keep.contains(c))
        .map(|c| names[c])
        .collect();
    // The "…" column stands where the left-out columns were.
    let gap = (!hidden.is_empty()).then(|| keep.len() - 1);
    let mut header: Vec<String> = keep.iter().map(|&c| names[c].to_string()).collect();
    if let Some(at) = gap {
        header.insert(at, "…".into());
    }
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    table.add_rows((0..shown).map(|row| {
        let mut line: Vec<String> = keep.iter().map(|&c| text[c][row].clone()).collect();
        if let Some(at) = gap {
            line.insert(at, "…".into());
        }
        line
    }));
    let mut aligned: Vec<bool> = keep.iter().map(|&c| numeric[c]).collect();
    if let Some(at) = gap {
        aligned.insert(at, false);
    }
    for (i, right) in aligned.iter().enumerate() {
        if *right {
            if let Some(c) = table.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    writeln!(w, "{table}")?;
    if !hidden.is_empty() {
        writeln!(
            w,
            "{} of {} columns not shown: {} (-f csv or -o FILE.xlsx has them all)",
            hidden.len(),
            names.len(),
            hidden.join(", ")
        )?;
    }
    if shown < df.height() {
        writeln!(
            w,
            "… {} more rows (--all prints them; -f csv or -o FILE writes them all)",
            super::cells::grouped((df.height() - shown) as f64, 0)
        )?;
    }
    Ok(())
}

/// The columns that fit in `room` characters: the first, then the next from the left while they
/// fit beside the last column and a one-character `…` column; all of them when all fit.
fn fitting_columns(widths: &[usize], room: usize) -> Vec<usize> {
    let n = widths.len();
    let cost = |c: usize| widths[c] + 3;
    if n <= 2 || (0..n).map(cost).sum::<usize>() < room {
        return (0..n).collect();
    }
    let mut used = 1 + cost(0) + cost(n - 1) + 4;
    let mut keep = vec![0];
    for c in 1..n - 1 {
        if used + cost(c) > room {
            break;
        }
        used += cost(c);
        keep.push(c);
    }
    keep.push(n - 1);
    keep
}

fn write_markdown(df: &DataFrame, w: &mut dyn Write) -> Result<()> {
    let cells = columns_cells(df)?;
    let escape = |s: String| s.replace('|', "\\|").replace('\n', " ");
    let names = df.get_column_names();
    writeln!(
        w,
        "| {} |",
        names
            .iter()
            .map(|n| escape(n.to_string()))
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    let rule: Vec<&str> = df
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if numeric_column(&cells[i], c.dtype()) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    writeln!(w, "|{}|", rule.join("|"))?;
    for row in 0..df.height() {
        let line: Vec<String> = cells.iter().map(|c| escape(c[row].text())).collect();
        writeln!(w, "| {} |", line.join(" | "))?;
    }
    Ok(())
}

/// Rows per chunk of the delimited writer: chunks are formatted in parallel, then written in
/// order, so memory holds a few chunks' cells rather than the whole table's.
const CHUNK_ROWS: usize = 1 << 15;

fn write_delimited(df: &DataFrame, delimiter: u8, w: &mut dyn Write) -> Result<()> {
    let mut header = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    header.write_record(df.get_column_names().iter().map(|n| n.as_str()))?;
    w.write_all(&header.into_inner().map_err(|e| anyhow!("{e}"))?)?;
    let chunks = df.height().div_ceil(CHUNK_ROWS);
    // Two chunks per core at a time: formatted in parallel, written in order.
    let wave = 2 * rayon::current_num_threads().max(1);
    for first in (0..chunks).step_by(wave) {
        let texts: Vec<Result<Vec<u8>>> = (first..chunks.min(first + wave))
            .into_par_iter()
            .map(|c| delimited_rows(&df.slice((c * CHUNK_ROWS) as i64, CHUNK_ROWS), delimiter))
            .collect();
        for text in texts {
            w.write_all(&text?)?;
        }
    }
    Ok(())
}

/// The rows of `df` as delimited text, without a header, quoted as the `csv` crate quotes the
/// header (a field holding the delimiter, a quote, CR or LF in quotes, quotes doubled; a record of
/// one empty field as `""`), so a file reads back the same.
fn delimited_rows(df: &DataFrame, delimiter: u8) -> Result<Vec<u8>> {
    let cells = columns_cells(df)?;
    let mut out = String::with_capacity(df.height() * 12 * cells.len());
    let special = |b: &u8| matches!(*b, b'"' | b'\r' | b'\n') || *b == delimiter;
    // Numbers, dates and booleans hold only these bytes: with any other delimiter they never
    // need quotes and are written straight into the output.
    let plain = !b"0123456789-+.:eE truefalsTRUEFALS".contains(&delimiter);
    let mut field = String::new();
    for row in 0..df.height() {
        let start = out.len();
        for (k, column) in cells.iter().enumerate() {
            if k > 0 {
                out.push(delimiter as char);
            }
            let text = match column[row] {
                Cell::Text(s) => s,
                cell if plain => {
                    cell.write_to(&mut out);
                    continue;
                }
                cell => {
                    field.clear();
                    cell.write_to(&mut field);
                    &field
                }
            };
            if text.as_bytes().iter().any(special) {
                out.push('"');
                out.push_str(&text.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(text);
            }
        }
        if out.len() == start {
            out.push_str("\"\"");
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

fn json_value(cell: &Cell<'_>) -> String {
    match cell {
        Cell::Null => "null".to_string(),
        Cell::Int(_) | Cell::Float(_) | Cell::Bool(_) => cell.text(),
        Cell::Text(s) => serde_json::to_string(s).unwrap_or_else(|_| "null".to_string()),
        Cell::Date(_) | Cell::DateTime(_) => format!("\"{}\"", cell.text()),
    }
}

fn write_json_rows(
    df: &DataFrame,
    tag: Option<&str>,
    w: &mut dyn Write,
    ndjson: bool,
) -> Result<()> {
    let cells = columns_cells(df)?;
    let keys: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| serde_json::to_string(n.as_str()).unwrap_or_default())
        .collect();
    let tag = tag.map(|t| serde_json::to_string(t).unwrap_or_default());
    for row in 0..df.height() {
        if !ndjson {
            w.write_all(if row == 0 { b"\n  " } else { b",\n  " })?;
        }
        w.write_all(b"{")?;
        if let Some(t) = &tag {
            write!(w, "\"table\":{t},")?;
        }
        for (i, (key, column)) in keys.iter().zip(&cells).enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write!(w, "{key}:{}", json_value(&column[row]))?;
        }
        w.write_all(b"}")?;
        if ndjson {
            w.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn write_ndjson(df: &DataFrame, tag: Option<&str>, w: &mut dyn Write) -> Result<()> {
    write_json_rows(df, tag, w, true)
}

fn write_json(sheets: &[(&str, &DataFrame)], w: &mut dyn Write) -> Result<()> {
    if let [(_, df)] = sheets {
        w.write_all(b"[")?;
        write_json_rows(df, None, w, false)?;
        w.write_all(b"\n]\n")?;
        return Ok(());
    }
    w.write_all(b"{")?;
    for (i, (title, df)) in sheets.iter().enumerate() {
        let key = serde_json::to_string(title)?;
        write!(w, "{}\n{key}: [", if i > 0 { "," } else { "" })?;
        write_json_rows(df, None, w, false)?;
        w.write_all(b"\n]")?;
    }
    w.write_all(b"\n}\n")?;
    Ok(())
}

fn write_xlsx(sheets: &[(&str, &DataFrame)], w: &mut dyn Write) -> Result<()> {
    let mut workbook = Workbook::new();
    // Same input, same bytes: the document's creation time is fixed (1980-01-01, the zip
    // format's first day, as reproducible builds use) instead of the clock's.
    let fixed = rust_xlsxwriter::ExcelDateTime::from_ymd(1980, 1, 1)?;
    workbook.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_creation_datetime(&fixed)
            .set_author("crm-eval"),
    );
    let header = XlsxFormat::new().set_bold();
    let whole = XlsxFormat::new().set_num_format("#,##0");
    let date = XlsxFormat::new().set_num_format("yyyy-mm-dd");
    let datetime = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let money = XlsxFormat::new().set_num_format("#,##0.00");
    let percent = XlsxFormat::new().set_num_format("0.0%");
    for (title, df) in sheets {
        // Excel's limits, said with the sheet's name and size rather than the writer's words.
        if df.width() > 16_384 || df.height() >= 1_048_576 {
            anyhow::bail!(
                "sheet {title:?} has {} rows and {} columns, more than an Excel sheet holds \
                 (1,048,575 rows of data, 16,384 columns); write CSV or Parquet instead{}",
                df.height(),
                df.width(),
                if df.width() > 16_384 {
                    " (so many columns usually mean dates far from the rest: see the notes above)"
                } else {
                    ""
                }
            );
        }
        let cells = columns_cells(df)?;
        let shares = share_columns(df);
        let whole_columns: Vec<bool> = cells.iter().map(|c| whole_numbers(c)).collect();
        let sheet = workbook.add_worksheet();
        // Excel sheet names: at most 31 characters, none of []:*?/\ .
        let name: String = title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        let name = if name.is_empty() {
            "sheet".to_string()
        } else {
            name
        };
        sheet.set_name(&name)?;
        for (c, column) in df.columns().iter().enumerate() {
            let col = c as u16;
            // The header in the reader's language (--lang); formats are decided by the name.
            let title = crate::i18n::tr(column.name().as_str());
            sheet.write_string_with_format(0, col, title.as_ref(), &header)?;
            // Formats by meaning, as the terminal and HTML show them: shares and probabilities
            // as %, whole numbers without decimals, other numbers with two.
            let float_format = if shares[c] {
                Some(&percent)
            } else if whole_columns[c] {
                Some(&whole)
            } else if column.dtype().is_float() {
                Some(&money)
            } else {
                None
            };
            for (r, cell) in cells[c].iter().enumerate() {
                let row = r as u32 + 1;
                match *cell {
                    Cell::Null => {}
                    Cell::Text(s) => {
                        sheet.write_string(row, col, crate::i18n::tr_data(s).as_ref())?;
                    }
                    Cell::Int(i) => {
                        sheet.write_number(row, col, i as f64)?;
                    }
                    Cell::Float(f) => match float_format {
                        Some(fmt) => {
                            sheet.write_number_with_format(row, col, f, fmt)?;
                        }
                        None => {
                            sheet.write_number(row, col, f)?;
                        }
                    },
                    // Excel's 1900 date system: 1970-01-01 is serial 25569.
                    Cell::Date(d) => {
                        sheet.write_number_with_format(row, col, f64::from(d) + 25_569.0, &date)?;
                    }
                    Cell::DateTime(ms) => {
                        sheet.write_number_with_format(
                            row,
                            col,
                            ms as f64 / 86_400_000.0 + 25_569.0,
                            &datetime,
                        )?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(row, col, b)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        // A filter on every sheet with rows: sort and filter by owner, segment, tier at once.
        if df.height() > 0 && df.width() > 0 {
            sheet.autofilter(0, 0, df.height() as u32, (df.width() - 1) as u16)?;
        }
        sheet.autofit();
        super::workbook::decorate(sheet, &name, df)?;
    }
    let bytes = workbook
        .save_to_buffer()
        .context("cannot build the xlsx workbook")?;
    w.write_all(&bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The delimited writer quotes exactly as the `csv` crate does: text with delimiters,
        /// quotes, CR, LF, empty cells, one-column tables, numbers.
        #[test]
        fn rows_are_quoted_as_the_csv_crate_quotes(
            rows in proptest::collection::vec(
                (proptest::string::string_regex("[a-c,;\"\r\n \t]{0,5}").unwrap(), -5i64..5),
                1..20,
            ),
            delimiter in proptest::sample::select(vec![b',', b';', b'\t', b'|']),
            one_column in proptest::bool::ANY,
        ) {
            let mut columns = vec![Column::new("t".into(), rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())];
            if !one_column {
                columns.push(Column::new("n".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()));
            }
            let df = DataFrame::new_infer_height(columns).unwrap();
            let mut expected = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
            for r in &rows {
                if one_column {
                    expected.write_record([r.0.as_str()]).unwrap();
                } else {
                    expected.write_record([r.0.as_str(), &r.1.to_string()]).unwrap();
                }
            }
            let expected = expected.into_inner().unwrap();
            proptest::prop_assert_eq!(delimited_rows(&df, delimiter).unwrap(), expected);
        }
    }
}
