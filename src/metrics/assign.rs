//! Who should get each customer (docs/metrics.md, "Allocation"): each owner's conversion of
//! leads like this one, shrunk by the evidence, and a greedy allocation under the pool rules'
//! caps; and its backtest at earlier cutoffs.
//!
//! The model is empirical Bayes on the conversion command's matured spells (one rule): the rate
//! of owner r on segment s is (x_rs + κ·prior_rs) / (n_rs + κ), where x/n are converted/matured
//! spells of r on s and the prior is what r and s say apart, prior_rs = p_r · p_s / p (no
//! interaction), itself from the owner's and the segment's rates shrunk toward the team's p by
//! the same κ. A cell with many spells speaks for itself; a cell with none is the prior. κ =
//! [`STRENGTH`] spells: a beta-binomial prior worth that much evidence. It is chosen over a
//! logistic model with owner × attribute terms because every figure in `reason` is then a count
//! a manager can check in `crm-eval conversion --by owner,source`.

use std::collections::HashMap;

use crate::metrics::predict::evaluate::{scores, Scores};

/// The prior's weight, in spells.
pub const STRENGTH: f64 = 20.0;

/// A matured spell as the model sees it.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub owner: u32,
    pub segment: u32,
    pub converted: bool,
    pub start_day: i32,
}

/// Converted and matured spells.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Count {
    pub converted: f64,
    pub spells: f64,
}

impl Count {
    fn add(&mut self, converted: bool) {
        self.spells += 1.0;
        self.converted += f64::from(u8::from(converted));
    }

    pub fn rate(&self) -> Option<f64> {
        (self.spells > 0.0).then(|| self.converted / self.spells)
    }

    fn shrunk(&self, prior: f64) -> f64 {
        (self.converted + STRENGTH * prior) / (self.spells + STRENGTH)
    }
}

/// The fitted rates.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    pub all: Count,
    pub owner: HashMap<u32, Count>,
    pub segment: HashMap<u32, Count>,
    pub cell: HashMap<(u32, u32), Count>,
}

impl Rates {
    pub fn fit<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Rates {
        let mut r = Rates::default();
        for c in cases {
            r.all.add(c.converted);
            r.owner.entry(c.owner).or_default().add(c.converted);
            r.segment.entry(c.segment).or_default().add(c.converted);
            r.cell
                .entry((c.owner, c.segment))
                .or_default()
                .add(c.converted);
        }
        r
    }

    fn team(&self) -> f64 {
        self.all.rate().unwrap_or(0.0)
    }

    /// The owner's rate on every segment, shrunk toward the team's.
    pub fn p_owner(&self, owner: u32) -> f64 {
        let team = self.team();
        self.owner.get(&owner).map_or(team, |c| c.shrunk(team))
    }

    /// The segment's rate over every owner, shrunk toward the team's.
    pub fn p_segment(&self, segment: u32) -> f64 {
        let team = self.team();
        self.segment.get(&segment).map_or(team, |c| c.shrunk(team))
    }

    /// The owner's rate on the segment (see the module's rule).
    pub fn p(&self, owner: u32, segment: u32) -> f64 {
        let team = self.team();
        if team <= 0.0 {
            return 0.0;
        }
        let prior = (self.p_owner(owner) * self.p_segment(segment) / team).clamp(1e-4, 1.0 - 1e-4);
        self.cell
            .get(&(owner, segment))
            .map_or(prior, |c| c.shrunk(prior))
    }
}

/// One customer to allocate.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub segment: u32,
    /// Owners who may not take it now (they returned it within the cooldown).
    pub barred: Vec<u32>,
    /// Expected net spend if it converts.
    pub value: f64,
}

/// An owner who takes customers, and how many more this batch may give them.
#[derive(Debug, Clone)]
pub struct Taker {
    pub owner: u32,
    pub name: String,
    pub holding: u64,
    pub room: u64,
}

/// What the allocation decided for a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub owner: Option<u32>,
    pub p: Option<f64>,
    /// The best other owner allowed to take it (room or not), and their rate.
    pub runner_up: Option<(u32, f64)>,
    /// The owner's holding after this and the earlier decisions of the batch.
    pub load_after: Option<u64>,
}

/// Greedy by rate: every allowed (customer, owner) pair in order of the owner's rate on the
/// customer's segment (highest first; ties by customer ID, then owner name), each taken when the
/// customer is still unallocated and the owner has room. Deterministic; each owner gets at most
/// their `room`, nobody gets a customer they are barred from.
pub fn allocate(candidates: &[Candidate], takers: &[Taker], rates: &Rates) -> Vec<Decision> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (c, cand) in candidates.iter().enumerate() {
        for (t, taker) in takers.iter().enumerate() {
            if !cand.barred.contains(&taker.owner) {
                pairs.push((rates.p(taker.owner, cand.segment), c, t));
            }
        }
    }
    pairs.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| candidates[a.1].id.cmp(&candidates[b.1].id))
            .then_with(|| takers[a.2].name.cmp(&takers[b.2].name))
    });
    let mut room: Vec<u64> = takers.iter().map(|t| t.room).collect();
    let mut load: Vec<u64> = takers.iter().map(|t| t.holding).collect();
    let mut decisions = vec![
        Decision {
            owner: None,
            p: None,
            runner_up: None,
            load_after: None,
        };
        candidates.len()
    ];
    for &(p, c, t) in &pairs {
        if decisions[c].owner.is_none() && room[t] > 0 {
            room[t] -= 1;
            load[t] += 1;
            decisions[c].owner = Some(takers[t].owner);
            decisions[c].p = Some(p);
            decisions[c].load_after = Some(load[t]);
        }
    }
    // The runner-up: the best allowed owner other than the one chosen (pairs are in rate order).
    for &(p, c, t) in &pairs {
        let d = &mut decisions[c];
        if d.runner_up.is_none() && d.owner != Some(takers[t].owner) {
            d.runner_up = Some((takers[t].owner, p));
        }
    }
    decisions
}

/// One model's scores on the spells started after a cutoff.
pub struct BacktestRow {
    pub cutoff: i32,
    pub model: &'static str,
    pub spells: usize,
    pub conversion_rate: f64,
    /// The mean predicted rate (calibration in the large: against `conversion_rate`).
    pub mean_p: f64,
    pub scores: Scores,
    /// Spells whose actual owner was the model's top pick among the owners active at the cutoff,
    /// and the conversion rate of those and of the others (model row only).
    pub top_pick: Option<(usize, Option<f64>, Option<f64>)>,
}

/// At each cutoff: the rates from the spells matured before it, scoring the matured spells
/// started in `[cutoff, cutoff + step)` by the rate of their actual owner on their segment,
/// beside the owner's overall rate, the segment's, and the team's (round robin).
pub fn backtest(cases: &[Case], cutoffs: &[i32], step: i32, window: i32) -> Vec<BacktestRow> {
    let mut rows = Vec::new();
    for &cutoff in cutoffs {
        let train = Rates::fit(cases.iter().filter(|c| c.start_day + window < cutoff));
        let test: Vec<&Case> = cases
            .iter()
            .filter(|c| c.start_day >= cutoff && c.start_day < cutoff + step)
            .collect();
        if test.is_empty() || train.all.spells == 0.0 {
            continue;
        }
        let y: Vec<bool> = test.iter().map(|c| c.converted).collect();
        let rate = y.iter().filter(|v| **v).count() as f64 / y.len() as f64;
        // The owners active at the cutoff: those with a spell in the training data.
        let mut active: Vec<u32> = train.owner.keys().copied().collect();
        active.sort_unstable();
        let mut top = (0usize, 0usize, 0usize, 0usize);
        for c in &test {
            let best = active.iter().copied().max_by(|&a, &b| {
                train
                    .p(a, c.segment)
                    .total_cmp(&train.p(b, c.segment))
                    .then(b.cmp(&a))
            });
            if best == Some(c.owner) {
                top.0 += 1;
                top.1 += usize::from(c.converted);
            } else {
                top.2 += 1;
                top.3 += usize::from(c.converted);
            }
        }
        let share = |x: usize, n: usize| (n > 0).then(|| x as f64 / n as f64);
        for (model, p) in [
            (
                "owner_x_segment",
                test.iter()
                    .map(|c| train.p(c.owner, c.segment))
                    .collect::<Vec<_>>(),
            ),
            (
                "owner",
                test.iter().map(|c| train.p_owner(c.owner)).collect(),
            ),
            (
                "segment",
                test.iter().map(|c| train.p_segment(c.segment)).collect(),
            ),
            ("round_robin", vec![train.team(); test.len()]),
        ] {
            rows.push(BacktestRow {
                cutoff,
                model,
                spells: test.len(),
                conversion_rate: rate,
                mean_p: p.iter().sum::<f64>() / p.len() as f64,
                scores: scores(&p, &y),
                top_pick: (model == "owner_x_segment")
                    .then(|| (top.0, share(top.1, top.0), share(top.3, top.2))),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(spec: &[(u32, u32, usize, usize)]) -> Vec<Case> {
        let mut out = Vec::new();
        for &(owner, segment, converted, spells) in spec {
            for k in 0..spells {
                out.push(Case {
                    owner,
                    segment,
                    converted: k < converted,
                    start_day: 0,
                });
            }
        }
        out
    }

    #[test]
    fn shrinkage_by_hand() {
        // Owner 0: 30 of 40 on segment 0, 5 of 40 on segment 1; owner 1: 10 of 40 on each.
        let r = Rates::fit(&cases(&[
            (0, 0, 30, 40),
            (0, 1, 5, 40),
            (1, 0, 10, 40),
            (1, 1, 10, 40),
        ]));
        let team = 55.0 / 160.0;
        let p_owner0 = (35.0 + 20.0 * team) / (80.0 + 20.0);
        let p_seg0 = (40.0 + 20.0 * team) / (80.0 + 20.0);
        let prior = p_owner0 * p_seg0 / team;
        assert!((r.p(0, 0) - (30.0 + 20.0 * prior) / 60.0).abs() < 1e-12);
        // A segment the owner never had: the prior alone.
        let p_seg9 = team;
        assert!((r.p(1, 9) - r.p_owner(1) * p_seg9 / team).abs() < 1e-12);
    }

    #[test]
    fn the_strong_owner_gets_their_segment_up_to_the_cap() {
        let r = Rates::fit(&cases(&[
            (0, 0, 30, 40),
            (0, 1, 5, 40),
            (1, 0, 10, 40),
            (1, 1, 10, 40),
        ]));
        let cands: Vec<Candidate> = (0..6)
            .map(|i| Candidate {
                id: format!("c{i}"),
                segment: if i < 4 { 0 } else { 1 },
                barred: if i == 1 { vec![0] } else { vec![] },
                value: 100.0,
            })
            .collect();
        let takers = vec![
            Taker {
                owner: 0,
                name: "A".into(),
                holding: 10,
                room: 2,
            },
            Taker {
                owner: 1,
                name: "B".into(),
                holding: 3,
                room: 10,
            },
        ];
        let d = allocate(&cands, &takers, &r);
        // c0 and c2 (segment 0, in ID order) go to A up to A's room of 2; c1 is barred from A.
        assert_eq!(d[0].owner, Some(0));
        assert_eq!(d[1].owner, Some(1));
        assert_eq!(d[2].owner, Some(0));
        assert_eq!(d[3].owner, Some(1));
        assert_eq!(d.iter().filter(|x| x.owner == Some(0)).count(), 2);
        assert_eq!(d[2].load_after, Some(12));
        assert_eq!(d[0].runner_up.map(|r| r.0), Some(1));
        // Segment 1: B is better there.
        assert_eq!(d[4].owner, Some(1));
    }
}
