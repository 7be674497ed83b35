//! What each built-in segment, lifecycle stage and ABC tier means, and what to do about it, in
//! words a manager reads: one table, read by the summaries (`meaning` and `action` columns), the
//! report and docs/metrics.md. A config's own RFM segments may carry their own
//! (`meaning = "…"`, `action = "…"` in `[[rfm.segments]]`).

/// The meaning of one named group and the action it suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meaning {
    pub name: &'static str,
    pub meaning: &'static str,
    pub action: &'static str,
}

const fn m(name: &'static str, meaning: &'static str, action: &'static str) -> Meaning {
    Meaning {
        name,
        meaning,
        action,
    }
}

/// The built-in RFM segments (docs/metrics.md, "RFM"), best first.
pub const RFM_SEGMENTS: [Meaning; 12] = [
    m(
        "Champions",
        "Bought recently, buy often and spend the most.",
        "Reward them and ask for referrals and reviews; offer new products first.",
    ),
    m(
        "Loyal",
        "Buy regularly and spend well.",
        "Upsell higher-value products; invite them to a loyalty programme.",
    ),
    m(
        "Potential Loyalist",
        "Recent customers with average frequency and spend.",
        "Recommend related products; offer membership so the next purchases follow.",
    ),
    m(
        "New",
        "Bought for the first time very recently.",
        "Onboard them well: a welcome call, help with the first use, an early follow-up.",
    ),
    m(
        "Promising",
        "Recent buyers who have not spent much yet.",
        "Build the relationship: a follow-up from the owner, a trial or a targeted offer.",
    ),
    m(
        "Need Attention",
        "Average recency, frequency and spend, and starting to slip.",
        "Make a limited-time offer based on what they bought before.",
    ),
    m(
        "About to Sleep",
        "Have not bought for a while and bought little: lost without action.",
        "Reconnect with a relevant offer before they lapse.",
    ),
    m(
        "At Risk",
        "Used to buy often and spend well, but not for a long time.",
        "The owner reaches out personally with a renewal or win-back offer.",
    ),
    m(
        "Can't Lose Them",
        "Big spenders who have not bought for a long time.",
        "Call them before a competitor does: find out what changed, involve a senior contact.",
    ),
    m(
        "Hibernating",
        "Last bought long ago, few purchases, low spend.",
        "Low-cost reactivation (automated email or offers); no rep time.",
    ),
    m(
        "Lost",
        "The lowest recency, frequency and spend.",
        "Leave them to automated campaigns or return them to the pool.",
    ),
    m(
        super::rfm::UNMATCHED_SEGMENT,
        "Matched by no rule of the segment table.",
        "Check the [[rfm.segments]] rules of the config: they leave these scores out.",
    ),
];

/// The lifecycle stages (docs/metrics.md, "Lifecycle"), in the order of
/// [`super::lifecycle::STAGES`].
pub const LIFECYCLE_STAGES: [Meaning; 6] = [
    m(
        "potential",
        "In the customers file but has not bought yet.",
        "Convert: follow the lead up and make a first-order offer.",
    ),
    m(
        "new",
        "Made a first purchase recently (within --new-days).",
        "Onboard them and aim for the second purchase within the usual gap.",
    ),
    m(
        "active",
        "Buying within their usual gap between purchases.",
        "Keep serving them well; cross-sell.",
    ),
    m(
        "loyal",
        "Many purchases (--loyal-orders or more) and still buying on time.",
        "Retain and reward; ask for referrals.",
    ),
    m(
        "at_risk",
        "Overdue against their own usual gap, but not yet churned.",
        "Reach out now: the owner calls to find out why.",
    ),
    m(
        "churned",
        "No purchase for more than --churn-days.",
        "A win-back campaign, or return them to the pool for others to try.",
    ),
];

/// The ABC tiers (docs/metrics.md, "ABC").
pub const ABC_TIERS: [Meaning; 4] = [
    m(
        "A",
        "The few customers who make the first 80 % of value (the A threshold).",
        "Key accounts: a named owner, regular reviews, priority service.",
    ),
    m(
        "B",
        "The customers who make the next 15 % of value.",
        "Grow them toward A: upsell and cross-sell.",
    ),
    m(
        "C",
        "The many customers who make the last 5 % of value.",
        "Serve them efficiently: self-service and automated campaigns.",
    ),
    m(
        "L",
        "Worth less than nothing: refunds past their purchases, or (by margin) sold below cost.",
        "Find out why (pricing, returns, disputes) before selling them more.",
    ),
];

/// The entry of `name` in `table`.
pub fn of<'a>(table: &'a [Meaning], name: &str) -> Option<&'a Meaning> {
    table.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_name_has_a_meaning_and_an_action() {
        let mut names: Vec<String> = super::super::rfm::default_segments()
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.push(super::super::rfm::UNMATCHED_SEGMENT.to_string());
        for name in &names {
            assert!(of(&RFM_SEGMENTS, name).is_some(), "{name}");
        }
        for stage in super::super::lifecycle::STAGES {
            assert!(of(&LIFECYCLE_STAGES, stage).is_some(), "{stage}");
        }
        for tier in ["A", "B", "C", "L"] {
            assert!(of(&ABC_TIERS, tier).is_some(), "{tier}");
        }
        for m in RFM_SEGMENTS
            .iter()
            .chain(&LIFECYCLE_STAGES)
            .chain(&ABC_TIERS)
        {
            assert!(m.meaning.ends_with('.') && m.action.ends_with('.'), "{m:?}");
        }
    }
}
