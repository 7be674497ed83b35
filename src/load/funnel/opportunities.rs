//! The funnel's rules applied to the rows of an opportunities export: each row's outcome, then
//! each kept opportunity at as_of (close day, furthest stage, stays, the stage it is in, team
//! and region).

use std::collections::HashMap;

use super::history::History;
use super::{Columns, Tally, TeamOfOwner};
use crate::day::Day;
use crate::input::schema::Role;
use crate::input::values::WordCache;
use crate::metrics::funnel::stages::StageWords;
use crate::metrics::funnel::{rules, Opportunity, Outcome, Pipeline, Stay};
use crate::metrics::ownership::{Interner, NONE};
use crate::money::Money;

/// Each row's outcome by the rules of docs/metrics.md "Funnel" ([`Outcome::of_row`]: the
/// outcome cell, else the won/closed flags, else the stage's word), before as_of is applied;
/// with the rows whose outcome cell was not understood.
pub(super) fn row_outcomes(
    table: &crate::input::Table,
    stages: &[Option<&str>],
    outcome: Option<&[Option<&str>]>,
    won: Option<&[Option<bool>]>,
    closed: Option<&[Option<bool>]>,
    words: &StageWords,
) -> (Vec<Outcome>, Tally) {
    let mut stage_kinds = WordCache::new();
    let mut unknown = Tally::default();
    let outcomes = (0..table.df.height())
        .map(|i| {
            let from_cell = outcome.and_then(|c| c[i]).and_then(|cell| {
                let o = Outcome::from_cell(cell);
                if o.is_none() {
                    unknown.add(table.row_number(i));
                }
                o
            });
            Outcome::of_row(
                from_cell,
                won.and_then(|c| c[i]),
                closed.and_then(|c| c[i]),
                || {
                    let stage = stages[i].unwrap_or_default();
                    stage_kinds.get(stage, |s| words.kind(s))
                },
            )
        })
        .collect();
    (outcomes, unknown)
}

/// What the opportunities are built from once the rows to keep, the history and the stages are
/// known.
pub(super) struct Kept<'a> {
    pub(super) table: &'a crate::input::Table,
    pub(super) cols: &'a Columns<'a>,
    /// The export rows kept: opportunity `o` is row `rows[o]`.
    pub(super) rows: &'a [usize],
    pub(super) base_outcome: &'a [Outcome],
    pub(super) history: &'a History,
    pub(super) current_stage: &'a [u32],
    pub(super) stage_names: &'a [String],
    pub(super) stage_pos: &'a [Option<u16>],
    pub(super) team_of: &'a HashMap<u32, TeamOfOwner>,
    pub(super) region_of: &'a HashMap<u32, u32>,
    pub(super) stage_from_history: bool,
}

impl Kept<'_> {
    /// The team and region codes of row `i`: its owner's team, and its account's region, else
    /// its owner's.
    fn team_and_region(&self, i: usize) -> (u32, u32) {
        let (team, owner_region) = self
            .team_of
            .get(&self.cols.owner[i])
            .copied()
            .unwrap_or((NONE, NONE));
        let region = self
            .region_of
            .get(&self.cols.customer[i])
            .copied()
            .filter(|&r| r != NONE)
            .unwrap_or(owner_region);
        (team, region)
    }
}

/// Each kept opportunity by the funnel's rules at `pipeline.as_of` — its outcome and close day,
/// furthest stage, days in each stage, the stage it is in, its last change, team and region —
/// pushed onto `pipeline` (its stays too). Returns the rows closed before created, the won
/// ones without an amount, and the ones closed on or after as_of (counted open), to be noted.
pub(super) fn opportunities(k: &Kept, names: &mut Interner, pipeline: &mut Pipeline) -> [Tally; 3] {
    let (mut closed_early, mut won_unpriced, mut reopened) =
        (Tally::default(), Tally::default(), Tally::default());
    let day = |ms: i64| Day::of_ms(ms).days();
    for (o, &i) in k.rows.iter().enumerate() {
        let row = k.table.row_number(i);
        let created_day = k.cols.created[i].map_or(pipeline.as_of.days(), day);
        let at = rules::at_as_of(
            k.base_outcome[i],
            k.cols.closed_at.as_ref().and_then(|c| c[i]),
            pipeline.as_of,
        );
        let (outcome, closed) = (at.outcome, at.closed);
        if at.reopened {
            reopened.add(row);
        }
        if closed.is_some_and(|d| d < created_day) {
            closed_early.add(row);
        }
        let amount = k.cols.amount.as_ref().and_then(|c| c[i]).map(Money);
        if outcome == Outcome::Won && amount.is_none() && k.table.has(Role::Amount) {
            won_unpriced.add(row);
        }
        // History of this opportunity.
        let history = k.history.of(o);
        let open_stage = |code: u32| k.stage_pos[code as usize];
        // The stage the export says it is in, unless the stages come from the history alone.
        let now = (!k.stage_from_history)
            .then(|| open_stage(k.current_stage[o]))
            .flatten();
        let furthest = rules::furthest_stage(
            pipeline.stages.len(),
            outcome,
            history.iter().map(|e| open_stage(e.stage)),
            now,
        );
        // The open stage it is in: the export's column, or (for a past cutoff) its latest
        // history row in an open stage.
        let stage_now: &String = match history.iter().rev().find_map(|e| open_stage(e.stage)) {
            latest if k.stage_from_history && !pipeline.stages.is_empty() => {
                &pipeline.stages[usize::from(latest.unwrap_or(0))]
            }
            _ => &k.stage_names[k.current_stage[o] as usize],
        };
        let entered: Vec<(i32, Option<u16>)> = history
            .iter()
            .map(|e| (day(e.ms), open_stage(e.stage)))
            .collect();
        let opportunity = o as u32;
        let stays = rules::stays(&entered, closed).into_iter();
        pipeline.stays.extend(stays.map(|(stage, days)| Stay {
            opportunity,
            stage,
            days,
        }));
        let last_change = history.last().map_or(created_day, |e| day(e.ms));
        let (team, region) = k.team_and_region(i);
        pipeline.opportunities.push(Opportunity {
            created: created_day,
            // An open deal's close date is the one expected, not an event.
            closed: closed.filter(|_| outcome != Outcome::Open),
            outcome,
            furthest,
            stage: if outcome == Outcome::Open {
                names.opt(Some(stage_now))
            } else {
                NONE
            },
            amount,
            last_change,
            owner: k.cols.owner[i],
            customer: k.cols.customer[i],
            product: k.cols.product[i],
            source: k.cols.source[i],
            team,
            region,
        });
    }
    [closed_early, won_unpriced, reopened]
}
