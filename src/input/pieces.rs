//! A source read in pieces of about a given size, for the commands that stream their input
//! under `--memory-limit` (docs/metrics.md, "Bounded memory"). Each piece is a [`RawSource`]
//! of its own with the file's header, delimiter and value sample, and with row numbers that
//! continue the previous piece's, so the input layer checks and coerces it exactly as it would
//! the whole file and its errors name the file's own rows.
//!
//! CSV text is cut at record ends (a newline outside double quotes); Parquet by rows; an Excel
//! sheet or standard input is one piece.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::PathBuf;

use anyhow::{Context, Result};
use polars::prelude::{ParquetReader, SerReader};

use super::source::{decode_text, Body, EncodingChoice, RawSource, SourceInfo};

/// The pieces of a source; see the module documentation.
pub struct Pieces {
    info: SourceInfo,
    headers: Vec<String>,
    sample: Vec<Vec<String>>,
    state: State,
}

enum State {
    Whole(Option<Body>),
    Csv {
        reader: Box<dyn Read>,
        /// The header record with its line end.
        header: Vec<u8>,
        /// Bytes read and not handed out yet (starting at a record boundary).
        pending: Vec<u8>,
        /// Data records handed out so far.
        records: usize,
        target: usize,
        encoding: EncodingChoice,
        done: bool,
    },
    Parquet {
        path: PathBuf,
        rows: usize,
        next: usize,
        step: usize,
    },
}

/// Bytes a Parquet row is taken to need once read, for sizing its pieces.
const PARQUET_ROW_BYTES: usize = 64;

impl RawSource {
    /// This source in pieces of about `bytes` bytes of text (CSV) or rows of about that size
    /// once read (Parquet).
    pub fn pieces(self, bytes: usize, encoding: EncodingChoice) -> Result<Pieces> {
        let RawSource {
            info,
            headers,
            sample,
            body,
        } = self;
        let target = bytes.max(4096);
        let state = match body {
            Body::CsvPath(path) => {
                let file =
                    File::open(&path).with_context(|| format!("{}: cannot open", info.display))?;
                csv_state(Box::new(file), target, encoding, &info)?
            }
            Body::CsvBytes(text) => {
                csv_state(Box::new(Cursor::new(text)), target, encoding, &info)?
            }
            Body::ParquetPath(path) => {
                let file =
                    File::open(&path).with_context(|| format!("{}: cannot open", info.display))?;
                let rows = ParquetReader::new(file).num_rows().map_err(|e| {
                    anyhow::anyhow!(
                        "{}: not a readable Parquet file: {}",
                        info.display,
                        super::source::polars_message(&e)
                    )
                })?;
                State::Parquet {
                    path,
                    rows,
                    next: 0,
                    step: (target / PARQUET_ROW_BYTES).max(1024),
                }
            }
            other => State::Whole(Some(other)),
        };
        Ok(Pieces {
            info,
            headers,
            sample,
            state,
        })
    }
}

fn csv_state(
    mut reader: Box<dyn Read>,
    target: usize,
    encoding: EncodingChoice,
    info: &SourceInfo,
) -> Result<State> {
    let mut pending = Vec::new();
    // The header is the first record; read until it ends.
    let header_end = loop {
        let before = pending.len();
        (&mut reader)
            .take(64 * 1024)
            .read_to_end(&mut pending)
            .with_context(|| format!("{}: cannot read", info.display))?;
        let (end, _) = record_ends(&pending, 1);
        if let Some(end) = end {
            break end;
        }
        if pending.len() == before {
            break pending.len();
        }
    };
    let rest = pending.split_off(header_end);
    Ok(State::Csv {
        reader,
        header: pending,
        pending: rest,
        records: 0,
        target,
        encoding,
        done: false,
    })
}

/// The end (one past the newline) of the last of at most `limit` records that end in `bytes`
/// (a newline outside double quotes; a doubled quote inside quotes toggles twice), and how many
/// records end there.
fn record_ends(bytes: &[u8], limit: usize) -> (Option<usize>, usize) {
    let mut quoted = false;
    let mut last = None;
    let mut records = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                records += 1;
                last = Some(i + 1);
                if records == limit {
                    break;
                }
            }
            _ => {}
        }
    }
    (last, records)
}

impl Iterator for Pieces {
    type Item = Result<RawSource>;

    fn next(&mut self) -> Option<Result<RawSource>> {
        let mut info = self.info.clone();
        let body = match &mut self.state {
            State::Whole(body) => body.take()?,
            State::Parquet {
                path,
                rows,
                next,
                step,
            } => {
                if *next >= *rows && !(*rows == 0 && *next == 0) {
                    return None;
                }
                let len = (*rows - *next).min(*step);
                info.first_row_number += *next;
                let body = Body::ParquetSlice(path.clone(), *next, len);
                *next += len.max(1);
                body
            }
            State::Csv {
                reader,
                header,
                pending,
                records,
                target,
                encoding,
                done,
            } => {
                if *done {
                    return None;
                }
                // Read until the piece holds `target` bytes and a record ends in it, or the
                // text ends.
                let cut = loop {
                    if pending.len() >= *target {
                        if let (Some(end), n) = record_ends(pending, usize::MAX) {
                            break Some((end, n));
                        }
                    }
                    let before = pending.len();
                    let want = (*target).max(pending.len()) as u64;
                    if let Err(e) = (&mut *reader).take(want).read_to_end(pending) {
                        return Some(Err(
                            anyhow::Error::new(e).context(format!("{}: cannot read", info.display))
                        ));
                    }
                    if pending.len() == before {
                        break None;
                    }
                };
                let piece = match cut {
                    Some((end, n)) => {
                        let rest = pending.split_off(end);
                        let piece = std::mem::replace(pending, rest);
                        info.first_row_number += *records;
                        *records += n;
                        piece
                    }
                    None => {
                        *done = true;
                        info.first_row_number += *records;
                        let piece = std::mem::take(pending);
                        if piece.iter().all(u8::is_ascii_whitespace) && *records > 0 {
                            return None;
                        }
                        piece
                    }
                };
                let mut text = Vec::with_capacity(header.len() + piece.len());
                text.extend_from_slice(header);
                text.extend_from_slice(&piece);
                drop(piece);
                if std::str::from_utf8(&text).is_err() {
                    match decode_text(text, *encoding, &info.display) {
                        Ok((decoded, _)) => text = decoded,
                        Err(e) => return Some(Err(e)),
                    }
                }
                Body::CsvBytes(text)
            }
        };
        Some(Ok(RawSource {
            info,
            headers: self.headers.clone(),
            sample: self.sample.clone(),
            body,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_at_newlines_outside_quotes() {
        let text = b"a,\"x\ny\",1\nb,\"\"\"q\"\"\",2\nc,3";
        assert_eq!(record_ends(text, usize::MAX), (Some(22), 2));
        assert_eq!(record_ends(text, 1), (Some(10), 1));
        assert_eq!(record_ends(b"no end", usize::MAX), (None, 0));
    }
}
