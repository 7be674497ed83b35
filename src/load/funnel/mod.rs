//! Loading for `funnel` and the report's funnel section: the opportunities export, its stage
//! history (long form, or HubSpot's wide `Date entered "<stage>"` columns, in the history file or
//! the opportunities export itself), the teams file and the accounts' regions, read into a
//! [`Pipeline`] by the rules of docs/metrics.md, "Funnel". Every oddity is counted on stderr with
//! example rows; an open stage outside the funnel's order is an error listing the stages seen.

use crate::day::Day;
use std::collections::HashMap;

mod history;
mod opportunities;

use history::{kept_history, read_history, read_wide_history, stage_code, Entry, History};
use opportunities::{opportunities, row_outcomes, Kept};

use anyhow::{bail, Result};

use crate::input::schema::{normalise_header, Role, TableKind};
use crate::input::values::WordCache;
use crate::keys::dense_codes;
use crate::metrics::funnel::stages::{stage_order, StageKind, StageOrder, StageWords};
use crate::metrics::funnel::{rules, Outcome, Pipeline};
use crate::metrics::ownership::{intern_rows, Interner, NONE};
use crate::output::{note, OutputOptions};
use crate::settings::Settings;
use polars::prelude::*;

/// What decides the funnel besides the files.
#[derive(Clone, Debug, Default)]
pub struct FunnelOptions {
    /// The open stages in order (`--stages` or the config's `[funnel] stages`).
    pub stages: Option<Vec<String>>,
    pub words: StageWords,
    pub as_of: Option<Day>,
    /// Take an open deal's stage, and the furthest stage it reached, from the stage history
    /// before as_of only, never from the export's stage column (which says where the deal is
    /// now): `predict deal` reads the pipeline as it stood at past cutoffs. A deal without a
    /// history row before as_of is in the first stage.
    pub stage_from_history: bool,
}

/// The files of a funnel analysis.
pub struct FunnelFiles<'a> {
    pub opportunities: &'a str,
    pub history: Option<&'a str>,
    pub teams: Option<&'a str>,
    pub customers: Option<&'a str>,
}

/// Up to this many example rows per kind of problem.
const EXAMPLES: usize = 3;

/// A kind of oddity: how many rows, and the first few (spreadsheet row numbers).
#[derive(Default)]
struct Tally {
    count: usize,
    rows: Vec<usize>,
}

impl Tally {
    /// Adds the counts of a later part of the file.
    fn merge(&mut self, later: &Tally) {
        self.count += later.count;
        for &row in &later.rows {
            if self.rows.len() < EXAMPLES {
                self.rows.push(row);
            }
        }
    }

    fn add(&mut self, row: usize) {
        self.count += 1;
        if self.rows.len() < EXAMPLES {
            self.rows.push(row);
        }
    }

    fn note(&self, out: &OutputOptions, file: &str, what: &str) {
        if self.count > 0 {
            let rows: Vec<String> = self.rows.iter().map(|r| r.to_string()).collect();
            note(
                out,
                format!(
                    "{file}: {} {what} (rows {}{})",
                    self.count,
                    rows.join(", "),
                    if self.count > self.rows.len() {
                        ", …"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

/// An owner's team and region, from the teams file.
struct TeamOf {
    team: Option<String>,
    region: Option<String>,
}

/// Loads the files into a pipeline as of `opts.as_of` (default: the day after the latest date).
/// A stage order names each stage once (compared as the stage words are: case, spaces and
/// punctuation aside); `A,B,A` would put A in two places of the funnel.
fn check_stage_list(stages: &[String]) -> Result<()> {
    for (i, s) in stages.iter().enumerate() {
        let key = normalise_header(s);
        if let Some(earlier) = stages[..i].iter().find(|t| normalise_header(t) == key) {
            return Err(crate::error::usage(format!(
                "--stages {} (or the config's [funnel] stages): {earlier:?} and {s:?} name the \
                 same stage twice; name each stage once, in funnel order",
                stages.join(",")
            )));
        }
    }
    Ok(())
}

pub fn load_pipeline(
    files: &FunnelFiles,
    opts: &FunnelOptions,
    settings: &Settings,
) -> Result<Pipeline> {
    if let Some(stages) = &opts.stages {
        check_stage_list(stages)?;
    }
    let out = &settings.output;
    let watch = crate::diag::Stopwatch::new();
    let table = crate::load::table(
        files.opportunities,
        TableKind::Opportunities,
        None,
        settings,
    )?;
    watch.lap("loading the opportunities");
    let file = table.info.display.clone();
    let df = &table.df;
    let mut names = Interner::default();
    let cols = read_columns(&table, &mut names)?;

    // Each row's outcome by the rules of docs/metrics.md "Funnel" (before as_of is applied).
    let (base_outcome, unknown_outcome) = row_outcomes(
        &table,
        &cols.stages,
        cols.outcome.as_deref(),
        cols.won.as_deref(),
        cols.closed.as_deref(),
        &opts.words,
    );

    watch.lap("outcomes and labels");
    // The stage history: the --history file, else wide columns of the opportunities export.
    let history_rows = match files.history {
        Some(path) => Some(read_history(path, settings)?),
        None => read_wide_history(files.opportunities, settings, false)?,
    };
    watch.lap("loading the stage history");
    let latest_history = history_rows
        .as_ref()
        .and_then(|h| h.entered.max())
        .map(|ms| Day::of_ms(ms).days());
    let day = |ms: i64| Day::of_ms(ms).days();
    let as_of = match opts.as_of {
        Some(d) => d,
        None => rules::default_as_of(
            cols.created.iter().flatten().map(|&ms| day(ms)),
            cols.closed_at
                .iter()
                .flat_map(|c| c.iter().copied().zip(base_outcome.iter().copied())),
            latest_history,
        )
        .ok_or_else(|| anyhow::anyhow!("{file}: no dated opportunities"))?,
    };

    // The opportunity IDs and the history's numbered together (in parallel partitions), so that
    // a stage change finds its opportunity by its number, and duplicates show as a number seen.
    let id_column = df.column(Role::OpportunityId.name())?.str()?;
    let codes = match &history_rows {
        Some(h) => {
            let mut both = id_column.clone();
            both.append(&h.ids)?;
            dense_codes(&both)
        }
        None => dense_codes(id_column),
    };
    // Rows kept: created before as_of, first of their ID.
    let rules::KeptRows {
        kept,
        opportunity_of,
        undated,
        future,
        duplicates,
    } = rules::kept_rows(
        &codes.row_code[..df.height()],
        codes.first_row.len(),
        |i| cols.created[i].map(day),
        as_of,
    );
    let tally = |rows: Vec<usize>| {
        let mut t = Tally::default();
        rows.into_iter().for_each(|i| t.add(table.row_number(i)));
        t
    };
    let (undated, duplicates, future) = (tally(undated), tally(duplicates), tally(future));
    undated.note(
        out,
        &file,
        "opportunities have no created date and are left out",
    );
    duplicates.note(
        out,
        &file,
        "rows repeat an earlier opportunity ID and are left out",
    );
    future.note(
        out,
        &file,
        "opportunities created on or after as_of are left out",
    );

    // History rows of the kept opportunities, before as_of, in time order (file order on ties).
    // Stage words of the opportunities and the history, each distinct one kept once.
    let mut stage_names: Vec<String> = Vec::new();
    let mut stage_codes = WordCache::new();
    let current_stage: Vec<u32> = kept
        .iter()
        .map(|&i| {
            stage_code(
                &mut stage_codes,
                &mut stage_names,
                cols.stages[i].unwrap_or_default(),
            )
        })
        .collect();
    let history = match history_rows {
        Some(h) => kept_history(
            h,
            &codes.row_code[df.height()..],
            &opportunity_of,
            kept.len(),
            as_of,
            &mut stage_names,
            out,
        ),
        None => History::default(),
    };
    let entries = &history.entries;
    let kinds: Vec<StageKind> = stage_names.iter().map(|s| opts.words.kind(s)).collect();
    watch.lap("stage changes per opportunity");

    let (order, stage_pos) = funnel_order(
        opts,
        &current_stage,
        entries,
        &stage_names,
        &kinds,
        &file,
        out,
    )?;

    // Opportunities by the outcome rules, their furthest stage and their last change.
    let (team_of, region_of) = teams_and_regions(
        files,
        settings,
        &kept,
        &cols.owner,
        &cols.customer,
        &mut names,
    )?;
    let mut pipeline = Pipeline {
        as_of,
        stages: order.clone(),
        has_history: !history.entries.is_empty(),
        ..Pipeline::default()
    };
    let [closed_early, won_unpriced, reopened] = opportunities(
        &Kept {
            table: &table,
            cols: &cols,
            rows: &kept,
            base_outcome: &base_outcome,
            history: &history,
            current_stage: &current_stage,
            stage_names: &stage_names,
            stage_pos: &stage_pos,
            team_of: &team_of,
            region_of: &region_of,
            stage_from_history: opts.stage_from_history,
        },
        &mut names,
        &mut pipeline,
    );
    unknown_outcome.note(
        out,
        &file,
        &format!(
            "outcome cells are not one of {} and are read from the stage instead",
            Outcome::ACCEPTED
        ),
    );
    reopened.note(
        out,
        &file,
        "opportunities closed on or after as_of count as open",
    );
    closed_early.note(
        out,
        &file,
        "opportunities close before they were created (left out of the cycle times)",
    );
    won_unpriced.note(
        out,
        &file,
        "won opportunities have no amount (left out of the won amounts)",
    );
    pipeline.ids = id_column.take(&IdxCa::from_vec(
        PlSmallStr::EMPTY,
        kept.iter().map(|&i| i as IdxSize).collect(),
    ))?;
    pipeline.names = names;
    watch.lap("opportunities");
    Ok(pipeline)
}

/// The funnel's open stages — given, else the history's order, else the built-in ranks — and
/// the funnel position of each stage code (None for a stage outside the funnel). Says on stderr
/// which order was taken; a stage the data show outside a known order is an error.
fn funnel_order(
    opts: &FunnelOptions,
    current_stage: &[u32],
    entries: &[Entry],
    stage_names: &[String],
    kinds: &[StageKind],
    file: &str,
    out: &OutputOptions,
) -> Result<(Vec<String>, Vec<Option<u16>>)> {
    let words = &opts.words;
    let open_seen = rules::open_stages_seen(
        current_stage
            .iter()
            .copied()
            .chain(entries.iter().map(|e| e.stage)),
        stage_names,
        |c| kinds[c] == StageKind::Open,
    );
    let mut sequences: Vec<Vec<&str>> = Vec::new();
    for (k, e) in entries.iter().enumerate() {
        if k == 0 || entries[k - 1].opportunity != e.opportunity {
            sequences.push(Vec::new());
        }
        if kinds[e.stage as usize] == StageKind::Open {
            if let Some(seq) = sequences.last_mut() {
                seq.push(&stage_names[e.stage as usize]);
            }
        }
    }
    let StageOrder { order, why } =
        stage_order(opts.stages.as_deref(), words, &open_seen, sequences);
    let position: HashMap<String, u16> = order
        .iter()
        .enumerate()
        .map(|(k, s)| (normalise_header(s), k as u16))
        .collect();
    // The funnel position of each stage code.
    let stage_pos: Vec<Option<u16>> = stage_names
        .iter()
        .map(|s| position.get(&normalise_header(s)).copied())
        .collect();
    if order.is_empty() {
        if !open_seen.is_empty() {
            note(
                out,
                format!(
                    "{file}: the order of the stages is unknown ({}); stage conversion and per-stage win probabilities need --stages A,B,C or --history",
                    open_seen.join(", ")
                ),
            );
        }
    } else {
        let unknown: Vec<&String> = open_seen
            .iter()
            .filter(|s| !position.contains_key(&normalise_header(s)))
            .collect();
        if !unknown.is_empty() {
            bail!(
                "{file}: stage {:?} is not one of the funnel's stages ({}); the stages seen are {} \
                 (name the order with --stages, and closing stages in the config's [funnel] won/lost/invalid)",
                unknown[0],
                order.join(", "),
                open_seen.join(", ")
            );
        }
        note(out, format!("stage order {why}: {}", order.join(" → ")));
    }

    Ok((order, stage_pos))
}

/// An owner's team and region, as codes of the pipeline's names.
type TeamOfOwner = (u32, u32);

/// The team and region codes of the kept opportunities' owners (`--teams`) and the region codes of
/// their accounts (`--customers`), once per distinct owner and account; names interned.
fn teams_and_regions(
    files: &FunnelFiles,
    settings: &Settings,
    kept: &[usize],
    owner: &[u32],
    customer: &[u32],
    names: &mut Interner,
) -> Result<(HashMap<u32, TeamOfOwner>, HashMap<u32, u32>)> {
    let (teams, regions) = (
        load_teams(files.teams, settings)?,
        load_regions(files.customers, settings)?,
    );
    let mut team_of: HashMap<u32, TeamOfOwner> = HashMap::new();
    let mut region_of: HashMap<u32, u32> = HashMap::new();
    for &i in kept {
        if !teams.is_empty() && owner[i] != NONE && !team_of.contains_key(&owner[i]) {
            let t = teams.get(names.name(owner[i]));
            let (team, region) = (
                t.and_then(|t| t.team.clone()),
                t.and_then(|t| t.region.clone()),
            );
            let codes = (names.opt(team.as_deref()), names.opt(region.as_deref()));
            team_of.insert(owner[i], codes);
        }
        if !regions.is_empty() && customer[i] != NONE && !region_of.contains_key(&customer[i]) {
            let r = regions.get(names.name(customer[i])).cloned();
            let code = names.opt(r.as_deref());
            region_of.insert(customer[i], code);
        }
    }
    Ok((team_of, region_of))
}

/// The opportunities export's columns as the funnel reads them: text, days, money, flags, and
/// the labels (owners, accounts, products, sources) interned into `names`.
struct Columns<'a> {
    stages: Vec<Option<&'a str>>,
    /// Created at, UTC milliseconds.
    created: Vec<Option<i64>>,
    closed_at: Option<Vec<Option<i32>>>,
    amount: Option<Vec<Option<i64>>>,
    won: Option<Vec<Option<bool>>>,
    closed: Option<Vec<Option<bool>>>,
    outcome: Option<Vec<Option<&'a str>>>,
    owner: Vec<u32>,
    customer: Vec<u32>,
    product: Vec<u32>,
    source: Vec<u32>,
}

fn read_columns<'a>(table: &'a crate::input::Table, names: &mut Interner) -> Result<Columns<'a>> {
    let df = &table.df;
    let text = |role: Role| -> Result<Option<Vec<Option<&str>>>> {
        Ok(if table.has(role) {
            Some(df.column(role.name())?.str()?.iter().collect())
        } else {
            None
        })
    };
    let stages_col = text(Role::Stage)?.unwrap_or_default();
    let created: Vec<Option<i64>> = df
        .column(Role::CreatedAt.name())?
        .datetime()?
        .physical()
        .iter()
        .collect();
    let closed_at: Option<Vec<Option<i32>>> = if table.has(Role::ClosedAt) {
        Some(
            df.column(Role::ClosedAt.name())?
                .date()?
                .physical()
                .iter()
                .collect(),
        )
    } else {
        None
    };
    let amount: Option<Vec<Option<i64>>> = if table.has(Role::Amount) {
        Some(df.column(Role::Amount.name())?.i64()?.iter().collect())
    } else {
        None
    };
    let flag = |role: Role| -> Result<Option<Vec<Option<bool>>>> {
        Ok(if table.has(role) {
            Some(df.column(role.name())?.bool()?.iter().collect())
        } else {
            None
        })
    };
    let (won_flag, closed_flag) = (flag(Role::Won)?, flag(Role::Closed)?);
    let outcome_col = text(Role::Outcome)?;
    // Labels interned once per distinct value (owners, accounts, products, sources).
    let mut labels = |role: Role| -> Result<Vec<u32>> {
        Ok(if table.has(role) {
            intern_rows(df.column(role.name())?.str()?, names)
        } else {
            vec![NONE; df.height()]
        })
    };
    let (owner, customer, product, source_col) = (
        labels(Role::Owner)?,
        labels(Role::CustomerId)?,
        labels(Role::Product)?,
        labels(Role::Source)?,
    );

    Ok(Columns {
        stages: stages_col,
        created,
        closed_at,
        amount,
        won: won_flag,
        closed: closed_flag,
        outcome: outcome_col,
        owner,
        customer,
        product,
        source: source_col,
    })
}

/// Owner → (team, region) from a teams file.
fn load_teams(path: Option<&str>, settings: &Settings) -> Result<HashMap<String, TeamOf>> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    let t = crate::load::table(path, TableKind::Teams, None, settings)?;
    let col = |role: Role| -> Result<Option<Vec<Option<String>>>> {
        Ok(if t.has(role) {
            Some(
                t.df.column(role.name())?
                    .str()?
                    .iter()
                    .map(|s| s.map(str::to_string))
                    .collect(),
            )
        } else {
            None
        })
    };
    let owners = col(Role::Owner)?.unwrap_or_default();
    let (team, region) = (col(Role::Team)?, col(Role::Region)?);
    let mut map = HashMap::new();
    for (i, owner) in owners.into_iter().enumerate() {
        let Some(owner) = owner else { continue };
        map.entry(owner).or_insert(TeamOf {
            team: team.as_ref().and_then(|c| c[i].clone()),
            region: region.as_ref().and_then(|c| c[i].clone()),
        });
    }
    Ok(map)
}

/// Customer → region from a customers export (when it has a region column).
fn load_regions(path: Option<&str>, settings: &Settings) -> Result<HashMap<String, String>> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    let t = crate::load::table(path, TableKind::Customers, Some(&[Role::Region]), settings)?;
    if !t.has(Role::Region) {
        return Ok(HashMap::new());
    }
    let ids = t.df.column(Role::CustomerId.name())?.str()?;
    let regions = t.df.column(Role::Region.name())?.str()?;
    Ok(ids
        .iter()
        .zip(regions.iter())
        .filter_map(|(id, r)| Some((id?.to_string(), r?.to_string())))
        .collect())
}
