//! What an opportunity's stage and outcome columns mean (docs/metrics.md, "Funnel"): which stage
//! words close an opportunity as won, lost or invalid, how an outcome code or flag decides, and
//! where the order of the open stages comes from.

use std::collections::BTreeMap;

use crate::input::schema::normalise_header;

/// How an opportunity stands at as_of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Open,
    Won,
    Lost,
    /// Disqualified or junk (无效): kept out of win rates and the funnel, counted apart.
    Invalid,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Won => "won",
            Outcome::Lost => "lost",
            Outcome::Invalid => "invalid",
        }
    }

    /// An outcome cell (WukongCRM `is_end`: 0 open, 1 won, 2 lost, 3 invalid; or a word).
    /// None for a blank or unknown value.
    pub fn from_cell(raw: &str) -> Option<Outcome> {
        let raw = raw.trim();
        if let Some((_, o)) = Outcome::CODES.iter().find(|(code, _)| *code == raw) {
            return Some(*o);
        }
        match StageWords::builtin().kind(raw) {
            StageKind::Open => Outcome::OPEN_WORDS
                .contains(&normalise_header(raw).as_str())
                .then_some(Outcome::Open),
            StageKind::Won => Some(Outcome::Won),
            StageKind::Lost => Some(Outcome::Lost),
            StageKind::Invalid => Some(Outcome::Invalid),
        }
    }

    /// The outcome codes of an outcome cell (WukongCRM `is_end`), compared trimmed.
    pub const CODES: [(&'static str, Outcome); 4] = [
        ("0", Outcome::Open),
        ("1", Outcome::Won),
        ("2", Outcome::Lost),
        ("3", Outcome::Invalid),
    ];

    /// The words of an outcome cell that say open (normalised); the closing ones are the
    /// built-in stage words.
    pub const OPEN_WORDS: &'static [&'static str] =
        &["open", "inprogress", "进行中", "跟进中", "未结束"];

    pub const ACCEPTED: &'static str =
        "0 open, 1 won, 2 lost, 3 invalid (WukongCRM is_end), or won/赢单, lost/输单, invalid/无效";
}

/// What a stage name says about the opportunity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
    /// A step of the funnel.
    Open,
    Won,
    Lost,
    Invalid,
}

/// The stage words that close an opportunity, compared after [`normalise_header`] (so
/// `Closed Won`, `closedwon` and `closed_won` are one word).
#[derive(Clone, Debug, Default)]
pub struct StageWords {
    pub won: Vec<String>,
    pub lost: Vec<String>,
    pub invalid: Vec<String>,
}

const WON: &[&str] = &[
    "won",
    "closedwon",
    // Salesforce lead statuses (Closed - Converted / Closed - Not Converted).
    "closedconverted",
    "converted",
    "win",
    "wondeal",
    "dealwon",
    "赢单",
    "成交",
    "已成交",
    "签约",
    "已签约",
    "赢得",
];
const LOST: &[&str] = &[
    "lost",
    "closedlost",
    "closednotconverted",
    "notconverted",
    "lose",
    "deallost",
    "输单",
    "丢单",
    "失败",
    "已输单",
    "战败",
];
const INVALID: &[&str] = &[
    "invalid",
    "disqualified",
    "junk",
    "spam",
    "duplicate",
    "无效",
    "作废",
    "已作废",
    "无效商机",
];

impl StageWords {
    /// The built-in words.
    pub fn builtin() -> StageWords {
        let own = |w: &[&str]| w.iter().map(|s| normalise_header(s)).collect();
        StageWords {
            won: own(WON),
            lost: own(LOST),
            invalid: own(INVALID),
        }
    }

    /// The built-in words plus those of a config file.
    pub fn with(won: &[String], lost: &[String], invalid: &[String]) -> StageWords {
        let mut w = StageWords::builtin();
        let add = |to: &mut Vec<String>, from: &[String]| {
            to.extend(from.iter().map(|s| normalise_header(s)));
        };
        add(&mut w.won, won);
        add(&mut w.lost, lost);
        add(&mut w.invalid, invalid);
        w
    }

    pub fn kind(&self, stage: &str) -> StageKind {
        let key = normalise_header(stage);
        if self.won.contains(&key) {
            StageKind::Won
        } else if self.lost.contains(&key) {
            StageKind::Lost
        } else if self.invalid.contains(&key) {
            StageKind::Invalid
        } else {
            StageKind::Open
        }
    }
}

/// Built-in ranks of common open stages (Salesforce's and HubSpot's default pipelines, the usual
/// Chinese 销售阶段). When every open stage of a file has a rank here and no two share one, their
/// order is the funnel's (said on stderr); otherwise the order must be given.
const KNOWN_RANKS: &[(&str, u8)] = &[
    ("prospecting", 1),
    ("appointmentscheduled", 1),
    ("lead", 1),
    ("初次接触", 1),
    ("初步接洽", 1),
    ("qualification", 2),
    ("qualifiedtobuy", 2),
    ("engaging", 2),
    ("需求确认", 2),
    ("需求分析", 2),
    ("needsanalysis", 3),
    ("discovery", 3),
    ("presentationscheduled", 3),
    ("valueproposition", 4),
    ("方案报价", 4),
    ("方案制定", 4),
    ("iddecisionmakers", 5),
    ("decisionmakerboughtin", 5),
    ("perceptionanalysis", 6),
    ("proposal", 7),
    ("proposalpricequote", 7),
    ("quote", 7),
    ("报价", 7),
    ("negotiation", 8),
    ("negotiationreview", 8),
    ("商务谈判", 8),
    ("谈判", 8),
    ("contractsent", 9),
    ("合同审批", 9),
];

impl Outcome {
    /// A row's outcome by the first rule that decides (docs/metrics.md, "Funnel"): its outcome
    /// cell (`cell`, already read), else its won/closed flags — won when won, lost when closed,
    /// open when not closed —, else the kind of its stage (`stage`, asked only then).
    pub fn of_row(
        cell: Option<Outcome>,
        won: Option<bool>,
        closed: Option<bool>,
        stage: impl FnOnce() -> StageKind,
    ) -> Outcome {
        let from_flags = match (won, closed) {
            (Some(true), _) => Some(Outcome::Won),
            (_, Some(true)) => Some(Outcome::Lost),
            (_, Some(false)) => Some(Outcome::Open),
            _ => None,
        };
        cell.or(from_flags).unwrap_or_else(|| match stage() {
            StageKind::Won => Outcome::Won,
            StageKind::Lost => Outcome::Lost,
            StageKind::Invalid => Outcome::Invalid,
            StageKind::Open => Outcome::Open,
        })
    }
}

/// The funnel's open stages in order, and where the order came from (for the note).
#[derive(Debug, Clone, PartialEq)]
pub struct StageOrder {
    pub order: Vec<String>,
    pub why: String,
}

/// The order of the open stages (docs/metrics.md, "Funnel"): `given` (`--stages` or the config;
/// its closing words left out), else the stage history's — `sequences`, each opportunity's open
/// stages in time order — unless some stage seen (`open_seen`) never takes part in a move and the
/// built-in ranks know every stage, else the built-in ranks; empty when nothing decides.
pub fn stage_order(
    given: Option<&[String]>,
    words: &StageWords,
    open_seen: &[String],
    sequences: Vec<Vec<&str>>,
) -> StageOrder {
    let order = |order: Vec<String>, why: &str| StageOrder {
        order,
        why: why.to_string(),
    };
    if let Some(given) = given {
        let open = given
            .iter()
            .filter(|s| words.kind(s) == StageKind::Open)
            .cloned()
            .collect();
        return order(open, "as given");
    }
    if sequences.is_empty() {
        return match known_order(open_seen) {
            Some(known) => order(
                known,
                "from the built-in list of common stages (pass --stages to set it)",
            ),
            None => order(Vec::new(), ""),
        };
    }
    // The history orders a stage only when some deal moved into or out of it. A history in which
    // most deals have one row (both public Salesforce sample orgs) leaves the other stages tied
    // at their first position, sorted by name, silently: then the built-in order, when it knows
    // the stages, is used instead, and said.
    let mut moved: std::collections::HashSet<String> = Default::default();
    for seq in &sequences {
        if seq
            .iter()
            .any(|s| normalise_header(s) != normalise_header(seq[0]))
        {
            moved.extend(seq.iter().map(|s| normalise_header(s)));
        }
    }
    let unordered: Vec<&str> = open_seen
        .iter()
        .filter(|s| !moved.contains(&normalise_header(s)))
        .map(String::as_str)
        .collect();
    match (unordered.is_empty(), known_order(open_seen)) {
        (true, _) | (false, None) => order(
            order_from_history(sequences.into_iter()),
            "from the stage history (mean order of first entry; pass --stages to set it)",
        ),
        (false, Some(known)) => StageOrder {
            order: known,
            why: format!(
                "from the built-in list of common stages: no deal of the stage history moves \
                 into or out of {}, so the history cannot order them (pass --stages to set it)",
                unordered.join(", ")
            ),
        },
    }
}

/// The order of `stages` (display names) by the built-in ranks, when each has a distinct rank.
pub fn known_order(stages: &[String]) -> Option<Vec<String>> {
    let rank = |s: &String| {
        let key = normalise_header(s);
        KNOWN_RANKS
            .iter()
            .find(|(name, _)| normalise_header(name) == key)
            .map(|(_, r)| *r)
    };
    let mut ranked: Vec<(u8, &String)> = Vec::new();
    for s in stages {
        ranked.push((rank(s)?, s));
    }
    ranked.sort();
    if ranked.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    Some(ranked.into_iter().map(|(_, s)| s.clone()).collect())
}

/// The order of the open stages from a stage history: each opportunity's open stages in the order
/// it first entered them give each stage a position 0, 1, …; stages are ordered by their mean
/// position, ties by name. `sequences` holds each opportunity's stages in time order (display
/// names; repeats allowed).
pub fn order_from_history<'a>(sequences: impl Iterator<Item = Vec<&'a str>>) -> Vec<String> {
    // (sum of positions, count) per normalised stage, with its first-seen spelling.
    let mut seen: BTreeMap<String, (f64, u64, String)> = BTreeMap::new();
    for seq in sequences {
        let mut firsts: Vec<String> = Vec::new();
        for s in seq {
            let key = normalise_header(s);
            if !firsts.contains(&key) {
                let pos = firsts.len() as f64;
                let e = seen.entry(key.clone()).or_insert((0.0, 0, s.to_string()));
                e.0 += pos;
                e.1 += 1;
                firsts.push(key);
            }
        }
    }
    let mut order: Vec<(f64, String)> = seen
        .into_values()
        .map(|(sum, n, name)| (sum / n as f64, name))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    order.into_iter().map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome cell decides first, then the flags, then the stage; the stage is not read
    /// when something before it decided.
    #[test]
    fn a_rows_outcome_is_the_first_rule_that_decides() {
        let never = || -> StageKind { panic!("the stage was read") };
        assert_eq!(
            Outcome::of_row(Some(Outcome::Lost), Some(true), None, never),
            Outcome::Lost
        );
        assert_eq!(
            Outcome::of_row(None, Some(true), Some(false), never),
            Outcome::Won
        );
        assert_eq!(
            Outcome::of_row(None, Some(false), Some(true), never),
            Outcome::Lost
        );
        assert_eq!(
            Outcome::of_row(None, None, Some(false), never),
            Outcome::Open
        );
        // A won flag without a closed flag: a row not won goes on to its stage.
        assert_eq!(
            Outcome::of_row(None, Some(false), None, || StageKind::Lost),
            Outcome::Lost
        );
        assert_eq!(
            Outcome::of_row(None, None, None, || StageKind::Invalid),
            Outcome::Invalid
        );
    }

    #[test]
    fn the_stage_order_given_then_history_then_built_in() {
        let words = StageWords::builtin();
        let seen: Vec<String> = ["Qualification", "Prospecting", "Proposal"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let given: Vec<String> = ["B", "Closed Won", "A"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = stage_order(Some(&given), &words, &seen, vec![]);
        assert_eq!(
            (o.order, o.why.as_str()),
            (vec!["B".to_string(), "A".to_string()], "as given")
        );
        // Every stage moved in some deal: the history's mean first-entry order.
        let moves = vec![
            vec!["Proposal", "Qualification", "Prospecting"],
            vec!["Proposal", "Prospecting"],
            vec!["Qualification", "Prospecting"],
        ];
        let o = stage_order(None, &words, &seen, moves);
        assert_eq!(o.order, ["Proposal", "Qualification", "Prospecting"]);
        assert!(o.why.starts_with("from the stage history"));
        // A stage no deal moved into or out of: the built-in ranks, said why.
        let o = stage_order(
            None,
            &words,
            &seen,
            vec![vec!["Proposal"], vec!["Prospecting", "Qualification"]],
        );
        assert_eq!(o.order, ["Prospecting", "Qualification", "Proposal"]);
        assert!(
            o.why
                .contains("no deal of the stage history moves into or out of Proposal"),
            "{}",
            o.why
        );
        // No history: the built-in ranks, else nothing.
        let o = stage_order(None, &words, &seen, vec![]);
        assert_eq!(o.order, ["Prospecting", "Qualification", "Proposal"]);
        let odd = vec!["Zeta".to_string(), "Alpha".to_string()];
        assert!(stage_order(None, &words, &odd, vec![]).order.is_empty());
    }

    #[test]
    fn closing_words_in_english_and_chinese() {
        let w = StageWords::builtin();
        assert_eq!(w.kind("Closed Won"), StageKind::Won);
        assert_eq!(w.kind("closedlost"), StageKind::Lost);
        assert_eq!(w.kind("赢单"), StageKind::Won);
        assert_eq!(w.kind("输单"), StageKind::Lost);
        assert_eq!(w.kind("无效"), StageKind::Invalid);
        assert_eq!(w.kind("Negotiation/Review"), StageKind::Open);
        // Salesforce lead statuses.
        assert_eq!(w.kind("Closed - Converted"), StageKind::Won);
        assert_eq!(w.kind("Closed - Not Converted"), StageKind::Lost);
        assert_eq!(w.kind("Open - Not Contacted"), StageKind::Open);
        let w = StageWords::with(&["Signed".into()], &[], &["Parked".into()]);
        assert_eq!(w.kind("signed"), StageKind::Won);
        assert_eq!(w.kind("PARKED"), StageKind::Invalid);
        assert_eq!(Outcome::from_cell("2"), Some(Outcome::Lost));
        assert_eq!(Outcome::from_cell("赢单"), Some(Outcome::Won));
        assert_eq!(Outcome::from_cell("maybe"), None);
    }

    #[test]
    fn stage_orders() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            known_order(&s(&["Engaging", "Prospecting"])),
            Some(s(&["Prospecting", "Engaging"]))
        );
        assert_eq!(
            known_order(&s(&["谈判", "初次接触", "方案报价", "需求确认"])),
            Some(s(&["初次接触", "需求确认", "方案报价", "谈判"]))
        );
        assert_eq!(known_order(&s(&["Prospecting", "Our own step"])), None);
        // Two stages of one rank: no order.
        assert_eq!(known_order(&s(&["quote", "报价"])), None);
        // A: 0, 0, 0 → 0; B: 1, 2 → 1.5; C: 2, 1 → 1.5; B and C tie on 1.5, so by name.
        let order = order_from_history(
            [vec!["A", "B", "C"], vec!["A", "C", "A", "B"], vec!["A"]].into_iter(),
        );
        assert_eq!(order, s(&["A", "B", "C"]));
    }
}
