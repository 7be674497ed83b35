//! A customer's current owner (docs/metrics.md, "Current owner"): the one rule every
//! per-customer table uses for its `owner` column and for `--by owner`.
//!
//! The sources, in order, and the first that lists the customer decides:
//! 1. the customers file's owner column (`--customers`), a blank cell meaning nobody owns the
//!    customer now (CRMs leave the owner of a pool customer empty);
//! 2. the ownership events (`--events`): the owner of the spell open at as_of, or nobody when the
//!    customer's latest event returned it to the pool;
//! 3. the owner on the row that dates the customer's latest purchase (the orders' owner column).
//!
//! A customer no source lists has no owner (an empty cell).

use std::collections::HashMap;

use crate::ledger::Ledger;

/// What each source says of the customers it lists: `Some(owner)`, or `None` for "listed, owned by
/// nobody now".
pub type Listing = HashMap<String, Option<String>>;

/// The sources of a run, each present only when its file (or column) was given.
#[derive(Debug, Default)]
pub struct OwnerSources {
    pub customers_file: Option<Listing>,
    pub events: Option<Listing>,
    pub purchases: Option<Listing>,
}

impl OwnerSources {
    /// Whether any source can name an owner: the tables then carry an `owner` column.
    pub fn any(&self) -> bool {
        self.customers_file.is_some() || self.events.is_some() || self.purchases.is_some()
    }

    /// The current owner of `customer`, or "" when nobody owns it (or no source lists it).
    pub fn current(&self, customer: &str) -> &str {
        [&self.customers_file, &self.events, &self.purchases]
            .into_iter()
            .flatten()
            .find_map(|listing| listing.get(customer))
            .and_then(|owner| owner.as_deref())
            .unwrap_or("")
    }

    /// Adds the latest-purchase owners of a ledger's buyers (one ledger, or each partition's).
    pub fn add_purchases(&mut self, ledger: &Ledger) {
        let listing = self.purchases.get_or_insert_with(HashMap::new);
        listing.extend(latest_purchase_owners(ledger));
    }
}

/// The owner on the row that dates each buyer's latest purchase (nobody when that row has no
/// owner), for a ledger whose orders have an owner column; nothing otherwise.
pub fn latest_purchase_owners(ledger: &Ledger) -> Vec<(String, Option<String>)> {
    ledger
        .buyers()
        .filter_map(|c| {
            let owners = ledger.purchase_owners(c)?;
            let last = *owners.last()?;
            Some((
                ledger.id(c).to_string(),
                ledger.owner_name(last).map(str::to_string),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(pairs: &[(&str, Option<&str>)]) -> Listing {
        pairs
            .iter()
            .map(|(c, o)| (c.to_string(), o.map(str::to_string)))
            .collect()
    }

    #[test]
    fn the_first_source_that_lists_a_customer_decides() {
        let sources = OwnerSources {
            customers_file: Some(listing(&[("A", Some("Ann")), ("P", None)])),
            events: Some(listing(&[
                ("A", Some("Bob")),
                ("B", Some("Bob")),
                ("Q", None),
            ])),
            purchases: Some(listing(&[
                ("A", Some("Cy")),
                ("B", Some("Cy")),
                ("C", Some("Cy")),
                ("P", Some("Cy")),
                ("Q", Some("Cy")),
                ("D", None),
            ])),
        };
        assert!(sources.any());
        assert_eq!(sources.current("A"), "Ann");
        assert_eq!(sources.current("B"), "Bob");
        assert_eq!(sources.current("C"), "Cy");
        // Listed as owned by nobody: the pool customer's blank cell, a return to the pool, a
        // purchase row without an owner.
        assert_eq!(sources.current("P"), "");
        assert_eq!(sources.current("Q"), "");
        assert_eq!(sources.current("D"), "");
        assert_eq!(sources.current("nobody knows"), "");
        assert!(!OwnerSources::default().any());
    }
}
