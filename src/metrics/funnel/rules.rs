//! The funnel's rules for one opportunity at as_of (docs/metrics.md, "Funnel"), as named steps
//! the loader calls: its outcome and close date at as_of, the furthest stage it reached, and the
//! days it stayed in each stage.

use super::stages::Outcome;
use crate::day::Day;

/// Which rows of an opportunities export are opportunities at as_of: each ID's first row (in
/// file order) that has a created date before as_of. Rows are indices into the export; the
/// others are sorted by why they were left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeptRows {
    /// The rows kept, in file order: opportunity `k` is row `kept[k]`.
    pub kept: Vec<usize>,
    /// For each ID code, its opportunity (an index into `kept`), or [`NOT_KEPT`].
    pub opportunity_of: Vec<u32>,
    /// Rows without a created date.
    pub undated: Vec<usize>,
    /// Rows created on or after as_of.
    pub future: Vec<usize>,
    /// Rows repeating an ID kept earlier.
    pub duplicates: Vec<usize>,
}

/// An ID code without an opportunity.
pub const NOT_KEPT: u32 = u32::MAX;

/// [`KeptRows`] of an export: `codes[i]` is row i's ID code (`u32::MAX` for a row without an ID,
/// skipped silently: the reader has said so), `codes_n` the number of codes, `created(i)` its
/// created day.
pub fn kept_rows(
    codes: &[u32],
    codes_n: usize,
    created: impl Fn(usize) -> Option<i32>,
    as_of: Day,
) -> KeptRows {
    let mut k = KeptRows {
        opportunity_of: vec![NOT_KEPT; codes_n],
        ..KeptRows::default()
    };
    for (i, &code) in codes.iter().enumerate() {
        if code == u32::MAX {
            continue;
        }
        match created(i) {
            None => k.undated.push(i),
            Some(c) if c >= as_of.days() => k.future.push(i),
            Some(_) if k.opportunity_of[code as usize] != NOT_KEPT => k.duplicates.push(i),
            Some(_) => {
                k.opportunity_of[code as usize] = k.kept.len() as u32;
                k.kept.push(i);
            }
        }
    }
    k
}

/// The analysis date when none is given: the day after the latest date of the data — the
/// created dates, the close dates of closed deals (an open deal's close date is the one
/// expected, not an event) and the stage history's latest change.
pub fn default_as_of(
    created: impl Iterator<Item = i32>,
    closed: impl Iterator<Item = (Option<i32>, Outcome)>,
    latest_history: Option<i32>,
) -> Option<Day> {
    created
        .chain(
            closed
                .filter(|(_, o)| *o != Outcome::Open)
                .filter_map(|(d, _)| d),
        )
        .chain(latest_history)
        .max()
        .map(|d| Day::new(d) + 1)
}

/// The open stages the data show (`codes`: the stage code of each opportunity, then of each
/// history row), each once by its normalised name, in the order first seen; `names` and
/// `open` are per code.
pub fn open_stages_seen(
    codes: impl Iterator<Item = u32>,
    names: &[String],
    open: impl Fn(usize) -> bool,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut done = vec![false; names.len()];
    for c in codes {
        let c = c as usize;
        if std::mem::replace(&mut done[c], true) {
            continue;
        }
        let key = crate::input::schema::normalise_header(&names[c]);
        if open(c) && !keys.contains(&key) {
            keys.push(key);
            seen.push(names[c].clone());
        }
    }
    seen
}

/// An opportunity's outcome and close day at `as_of`: one closed on or after as_of is still
/// open then (`reopened`); an open one's close date is the one expected, not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtAsOf {
    pub outcome: Outcome,
    pub closed: Option<i32>,
    pub reopened: bool,
}

pub fn at_as_of(outcome: Outcome, closed: Option<i32>, as_of: Day) -> AtAsOf {
    let reopened = outcome != Outcome::Open && closed.is_some_and(|d| d >= as_of.days());
    let outcome = if reopened { Outcome::Open } else { outcome };
    AtAsOf {
        outcome,
        closed: if outcome == Outcome::Open {
            None
        } else {
            closed
        },
        reopened,
    }
}

/// The furthest funnel position an opportunity reached, of `stages` positions: the last one for
/// a won deal; else the furthest of its history's open stages and the stage it is in now
/// (`now`); 0 when neither is an open stage of the funnel. `None` without a stage order.
pub fn furthest_stage(
    stages: usize,
    outcome: Outcome,
    history: impl Iterator<Item = Option<u16>>,
    now: Option<u16>,
) -> Option<u16> {
    if stages == 0 {
        return None;
    }
    if outcome == Outcome::Won {
        return Some(stages as u16 - 1);
    }
    history.flatten().chain(now).max().or(Some(0))
}

/// The days an opportunity stayed in each open stage of its history: from the day it entered a
/// stage to the day of its next change, or to its close day for the last one (none while open).
/// `history` holds (day entered, funnel position or `None` for a stage outside the funnel) in
/// time order; the result holds (position, days).
pub fn stays(history: &[(i32, Option<u16>)], closed: Option<i32>) -> Vec<(u16, i32)> {
    history
        .iter()
        .enumerate()
        .filter_map(|(k, &(entered, stage))| {
            let stage = stage?;
            let left = match history.get(k + 1) {
                Some(&(next, _)) => Some(next),
                None => closed,
            }?;
            Some((stage, left - entered))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_rows_are_the_first_dated_row_of_each_id_before_as_of() {
        // Rows: 0 A, 1 B undated, 2 A again, 3 no ID, 4 C on as_of, 5 B dated, 6 C before.
        let codes = [0, 1, 0, u32::MAX, 2, 1, 2];
        let created = [Some(5), None, Some(1), Some(1), Some(10), Some(3), Some(9)];
        let k = kept_rows(&codes, 3, |i| created[i], Day::new(10));
        assert_eq!(
            k.kept,
            [0, 5, 6],
            "B's first dated row, C's row before as_of"
        );
        assert_eq!(k.opportunity_of, [0, 1, 2]);
        assert_eq!(k.undated, [1]);
        assert_eq!(k.future, [4]);
        assert_eq!(
            k.duplicates,
            [2],
            "an earlier-dated repeat is still a repeat"
        );
        let none = kept_rows(&codes, 3, |_| None, Day::new(10));
        assert_eq!(none.opportunity_of, [NOT_KEPT; 3]);
        assert_eq!(none.undated.len(), 6);
    }

    #[test]
    fn as_of_is_the_day_after_the_latest_event_of_the_data() {
        let created = [10, 40, 20];
        let closed = [
            (Some(50), Outcome::Won),
            (Some(90), Outcome::Open),
            (None, Outcome::Lost),
        ];
        assert_eq!(
            default_as_of(created.into_iter(), closed.into_iter(), Some(45)),
            Some(Day::new(51))
        );
        assert_eq!(
            default_as_of(std::iter::empty(), std::iter::empty(), None),
            None
        );
    }

    #[test]
    fn open_stages_are_listed_once_by_their_normalised_name() {
        let names: Vec<String> = ["Qualify", "Closed Won", "qualify", "Propose"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let open = |c: usize| c != 1;
        let seen = open_stages_seen([3, 1, 0, 2, 3].into_iter(), &names, open);
        assert_eq!(seen, ["Propose", "Qualify"]);
    }

    #[test]
    fn closed_after_as_of_is_open_and_an_open_close_date_is_not_used() {
        let a = at_as_of(Outcome::Won, Some(110), Day::new(100));
        assert_eq!(
            a,
            AtAsOf {
                outcome: Outcome::Open,
                closed: None,
                reopened: true
            }
        );
        let a = at_as_of(Outcome::Lost, Some(90), Day::new(100));
        assert_eq!(
            (a.outcome, a.closed, a.reopened),
            (Outcome::Lost, Some(90), false)
        );
        let a = at_as_of(Outcome::Open, Some(90), Day::new(100));
        assert_eq!(
            (a.outcome, a.closed, a.reopened),
            (Outcome::Open, None, false)
        );
    }

    #[test]
    fn the_furthest_stage_of_won_open_and_lost_deals() {
        assert_eq!(
            furthest_stage(0, Outcome::Won, std::iter::empty(), None),
            None
        );
        assert_eq!(
            furthest_stage(4, Outcome::Won, std::iter::empty(), Some(1)),
            Some(3)
        );
        let history = [Some(0), None, Some(2), Some(1)];
        assert_eq!(
            furthest_stage(4, Outcome::Lost, history.into_iter(), Some(1)),
            Some(2)
        );
        assert_eq!(
            furthest_stage(4, Outcome::Open, std::iter::empty(), None),
            Some(0)
        );
    }

    #[test]
    fn days_in_each_stage_end_at_the_next_change_or_the_close() {
        let history = [(10, Some(0)), (15, None), (20, Some(1)), (26, Some(2))];
        assert_eq!(stays(&history, Some(30)), vec![(0, 5), (1, 6), (2, 4)]);
        // Still open: the last stage has no end yet.
        assert_eq!(stays(&history, None), vec![(0, 5), (1, 6)]);
    }
}
