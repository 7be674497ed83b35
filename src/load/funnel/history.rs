//! The stage history of a funnel: a `--history` file (one row per stage change) or the wide
//! "date entered" columns of an opportunities export, decoded in parallel batches and grouped
//! per kept opportunity in time order.

use anyhow::{bail, Result};
use polars::prelude::*;
use rayon::prelude::*;

use super::Tally;
use crate::day::Day;
use crate::input::schema::{Role, TableKind, ValueKind};
use crate::input::source::{self, SourceInfo};
use crate::input::values::WordCache;
use crate::input::{self, coerce};
use crate::keys::NO_CODE;
use crate::metrics::ownership::NONE;
use crate::output::OutputOptions;
use crate::settings::Settings;

/// A stage history as read: the file and its rows' opportunity IDs, stages and entry times (ms).
pub(super) struct HistoryFile {
    pub(super) info: SourceInfo,
    pub(super) ids: StringChunked,
    pub(super) stages: StringChunked,
    pub(super) entered: Int64Chunked,
}

/// One stage-history row: the opportunity's index, the stage (its code in the stage names) and
/// the time entered (ms).
#[derive(Clone, Copy, Default)]
pub(super) struct Entry {
    pub(super) opportunity: u32,
    pub(super) stage: u32,
    pub(super) ms: i64,
}

/// The stage changes of the kept opportunities, grouped by opportunity in time order (ties in
/// file order): opportunity `o`'s are `entries[start[o]..start[o + 1]]`.
#[derive(Default)]
pub(super) struct History {
    pub(super) entries: Vec<Entry>,
    pub(super) start: Vec<u32>,
}

impl History {
    pub(super) fn of(&self, o: usize) -> &[Entry] {
        match (self.start.get(o), self.start.get(o + 1)) {
            (Some(&a), Some(&b)) => &self.entries[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A history file decoded: its rows before as_of with their opportunity and a stage code local
/// to `names`, in file order, and the rows it could not use.
pub(super) struct Decoded {
    pub(super) entries: Vec<Entry>,
    pub(super) names: Vec<String>,
    pub(super) unknown: Tally,
    pub(super) later: Tally,
}

/// Rows per parallel batch of the history.
pub(super) const HISTORY_BATCH: usize = 1 << 16;

/// Decodes the history rows in parallel batches, each with its own stage words (mapped to the
/// global ones and grouped in row order by the caller, so the result is that of one pass).
pub(super) fn decode_history(
    h: &HistoryFile,
    id_codes: &[u32],
    opportunity_of: &[u32],
    as_of: Day,
) -> Vec<Decoded> {
    let n = h.ids.len();
    (0..n.div_ceil(HISTORY_BATCH))
        .into_par_iter()
        .map(|b| {
            let offset = b * HISTORY_BATCH;
            let len = HISTORY_BATCH.min(n - offset);
            let (stages, entered) = (
                h.stages.slice(offset as i64, len),
                h.entered.slice(offset as i64, len),
            );
            let ids = &id_codes[offset..offset + len];
            let mut words = WordCache::new();
            let mut batch = Decoded {
                entries: Vec::with_capacity(len),
                names: Vec::new(),
                unknown: Tally::default(),
                later: Tally::default(),
            };
            for (local, ((&code, stage), ms)) in ids
                .iter()
                .zip(stages.iter())
                .zip(entered.iter())
                .enumerate()
            {
                let (true, Some(stage), Some(ms)) = (code != NO_CODE, stage, ms) else {
                    continue;
                };
                let row = h.info.row_number(offset + local);
                let opportunity = opportunity_of[code as usize];
                if opportunity == NONE {
                    batch.unknown.add(row);
                    continue;
                }
                if Day::of_ms(ms) >= as_of {
                    batch.later.add(row);
                    continue;
                }
                let stage = stage_code(&mut words, &mut batch.names, stage);
                batch.entries.push(Entry {
                    opportunity,
                    stage,
                    ms,
                });
            }
            batch
        })
        .collect()
}

/// The position of `name` among `names` (stage words are few).
pub(super) fn stage_codes_lookup(names: &[String], name: &str) -> Option<u32> {
    names.iter().position(|n| n == name).map(|i| i as u32)
}

/// Groups decoded batches by opportunity (a stable counting sort over the batches in order: file
/// order kept), then each opportunity's by time (stable: ties keep file order); `global[b]` maps
/// batch b's stage codes.
pub(super) fn group_history(
    batches: Vec<Decoded>,
    global: &[Vec<u32>],
    opportunities: usize,
) -> History {
    let mut start = vec![0u32; opportunities + 1];
    let total: usize = batches.iter().map(|b| b.entries.len()).sum();
    for e in batches.iter().flat_map(|b| &b.entries) {
        start[e.opportunity as usize + 1] += 1;
    }
    for o in 0..opportunities {
        start[o + 1] += start[o];
    }
    let mut next = start.clone();
    let mut sorted = vec![Entry::default(); total];
    for (batch, global) in batches.into_iter().zip(global) {
        for e in batch.entries {
            let at = &mut next[e.opportunity as usize];
            sorted[*at as usize] = Entry {
                stage: global[e.stage as usize],
                ..e
            };
            *at += 1;
        }
    }
    let mut rest: &mut [Entry] = &mut sorted;
    for o in 0..opportunities {
        let (mine, tail) = rest.split_at_mut((start[o + 1] - start[o]) as usize);
        mine.sort_by_key(|e| e.ms);
        rest = tail;
    }
    History {
        entries: sorted,
        start,
    }
}

/// The stage changes of the kept opportunities (`opportunity_of` their numbers by ID code, of
/// `opportunities`; `row_codes` the history rows' ID codes), before as_of, in time order (file order on ties),
/// grouped per opportunity; stage words new to `stage_names` are added to it. Says on stderr
/// which rows were ignored. The history's rows are dropped once decoded.
pub(super) fn kept_history(
    h: HistoryFile,
    row_codes: &[u32],
    opportunity_of: &[u32],
    opportunities: usize,
    as_of: Day,
    stage_names: &mut Vec<String>,
    out: &OutputOptions,
) -> History {
    let batches = decode_history(&h, row_codes, opportunity_of, as_of);
    let (mut unknown, mut later) = (Tally::default(), Tally::default());
    // Each batch's local stage codes to the codes of `stage_names`.
    let mut global: Vec<Vec<u32>> = Vec::with_capacity(batches.len());
    for b in &batches {
        unknown.merge(&b.unknown);
        later.merge(&b.later);
        global.push(
            b.names
                .iter()
                .map(|name| {
                    stage_codes_lookup(stage_names, name).unwrap_or_else(|| {
                        stage_names.push(name.clone());
                        stage_names.len() as u32 - 1
                    })
                })
                .collect(),
        );
    }
    unknown.note(
        out,
        &h.info.display,
        "stage changes name an opportunity not in the export (or left out) and are ignored",
    );
    later.note(
        out,
        &h.info.display,
        "stage changes on or after as_of are ignored",
    );
    drop(h);
    group_history(batches, &global, opportunities)
}

/// The code of a stage word in `names` (added on first sight).
pub(super) fn stage_code<'a>(
    cache: &mut WordCache<'a, u32>,
    names: &mut Vec<String>,
    stage: &'a str,
) -> u32 {
    cache.get(stage, |w| {
        names.push(w.to_string());
        names.len() as u32 - 1
    })
}

/// The rows of a history file: long form (opportunity_id, stage,
/// entered_at), else HubSpot's wide columns.
pub(super) fn read_history(path: &str, settings: &Settings) -> Result<HistoryFile> {
    if let Some(wide) = read_wide_history(path, settings, true)? {
        return Ok(wide);
    }
    let table = crate::load::table(path, TableKind::StageHistory, None, settings)?;
    let df = &table.df;
    Ok(HistoryFile {
        ids: df.column(Role::OpportunityId.name())?.str()?.clone(),
        stages: df.column(Role::Stage.name())?.str()?.clone(),
        entered: df
            .column(Role::EnteredAt.name())?
            .datetime()?
            .physical()
            .clone(),
        info: table.info,
    })
}

/// The stage named by a HubSpot `Date entered "Stage (Pipeline)"` header.
pub(super) fn wide_stage(header: &str) -> Option<String> {
    let trimmed = header.trim();
    let rest = trimmed
        .get(..12)
        .filter(|p| p.eq_ignore_ascii_case("date entered"))
        .map(|_| &trimmed[12..])?;
    let mut stage = rest
        .trim()
        .trim_matches(|c| c == '"' || c == '“' || c == '”')
        .trim();
    // "Appointment Scheduled (Sales Pipeline)": the pipeline's name in brackets.
    if let Some(open) = stage.rfind(" (") {
        if stage.ends_with(')') {
            stage = &stage[..open];
        }
    }
    (!stage.is_empty()).then(|| stage.to_string())
}

/// The wide `Date entered "<stage>"` columns of `path` as long rows, if it has any (and, unless
/// `required`, an opportunity ID column).
pub(super) fn read_wide_history(
    path: &str,
    settings: &Settings,
    required: bool,
) -> Result<Option<HistoryFile>> {
    let raw = source::open(path, &settings.input.read)?;
    let wide: Vec<(String, String)> = raw
        .headers
        .iter()
        .filter_map(|h| wide_stage(h).map(|s| (h.clone(), s)))
        .collect();
    if wide.is_empty() {
        return Ok(None);
    }
    let bindings = input::resolve_or_explain(
        TableKind::Opportunities,
        &raw.headers,
        &settings.input,
        &raw.info,
    );
    let id_header = match bindings
        .ok()
        .and_then(|b| b.into_iter().find(|b| b.role == Role::OpportunityId))
    {
        Some(b) => b.header,
        None if required => bail!(
            "{}: the history has `Date entered` columns but no opportunity ID column (name it with --map opportunity_id=HEADER)",
            raw.info.display
        ),
        None => return Ok(None),
    };
    let mut wanted = vec![id_header.clone()];
    wanted.extend(wide.iter().map(|(h, _)| h.clone()));
    let (frame, info) = raw.read(Some(&wanted), &[], &settings.input.read)?;
    let ids = coerce::coerce(
        frame.column(&id_header)?,
        ValueKind::Id,
        "opportunity_id",
        &settings.input.values,
    )?
    .column;
    let ids = ids.str()?;
    let (mut row_ids, mut row_stages, mut row_times) = (Vec::new(), Vec::new(), Vec::new());
    for (header, stage) in &wide {
        let times = coerce::coerce(
            frame.column(header)?,
            ValueKind::DateTime,
            "entered_at",
            &settings.input.values,
        )?;
        if times.invalid > 0 {
            if let Some(bad) = &times.first_invalid {
                bail!(
                    "{}: row {}, column {header:?}: {:?} {}",
                    info.display,
                    info.row_number(bad.index),
                    bad.value,
                    bad.reason
                );
            }
        }
        let times = times.column;
        let times = times.datetime()?.physical();
        for (id, t) in ids.iter().zip(times.iter()) {
            if let (Some(id), Some(t)) = (id, t) {
                row_ids.push(id);
                row_stages.push(stage.as_str());
                row_times.push(t);
            }
        }
    }
    Ok(Some(HistoryFile {
        info,
        ids: StringChunked::from_iter_values(PlSmallStr::EMPTY, row_ids.into_iter()),
        stages: StringChunked::from_iter_values(PlSmallStr::EMPTY, row_stages.into_iter()),
        entered: Int64Chunked::from_vec(PlSmallStr::EMPTY, row_times),
    }))
}

#[cfg(test)]
mod tests {
    use super::wide_stage;

    #[test]
    fn hubspot_wide_headers_name_their_stage() {
        assert_eq!(
            wide_stage("Date entered \"Appointment Scheduled (Sales Pipeline)\""),
            Some("Appointment Scheduled".into())
        );
        assert_eq!(
            wide_stage("date entered Contract Sent"),
            Some("Contract Sent".into())
        );
        assert_eq!(wide_stage("Date exited \"Contract Sent\""), None);
        assert_eq!(wide_stage("Deal Stage"), None);
    }
}
