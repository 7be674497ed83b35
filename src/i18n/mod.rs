//! The reader's language for what a person reads in a report (`--lang zh`, or `lang = "zh"` in
//! crm-eval.toml): section titles, notes, headline tiles, chart titles, axes and legends, the
//! report's column headers, and the names and meanings of segments, stages and tiers. Column
//! names of machine outputs (CSV, JSON, Parquet) never change.
//!
//! One table of translations, [`ZH`], keyed by the English text as the code writes it; texts
//! with figures in them are matched by templates, [`ZH_TEMPLATES`], whose `{}` stand for the
//! figures (dates, counts, names), carried over in order. English is the default and the key,
//! so a text missing from the table shows in English — and is recorded, so the completeness test
//! (`tests/report.rs`) names it.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// A language a report can be read in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The HTML `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }
}

static LANG: AtomicU8 = AtomicU8::new(0);
static MISSES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Sets the run's language (once, from the flags and the config).
pub fn set(lang: Lang) {
    LANG.store(lang as u8, Ordering::Relaxed);
}

pub fn lang() -> Lang {
    match LANG.load(Ordering::Relaxed) {
        1 => Lang::Zh,
        _ => Lang::En,
    }
}

fn exact() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| ZH.iter().copied().collect())
}

/// `text` in the run's language. A label of the report (title, note, axis, header): one the
/// table lacks is recorded as missing (see [`misses`]). Texts without a Latin letter (figures,
/// dates, Chinese names) are themselves.
pub fn tr(text: &str) -> Cow<'_, str> {
    translate(text, true)
}

/// [`tr`] for a value from the data that may be a known word (a segment, a stage, a tier): it is
/// translated when the table has it and kept as it is otherwise, without being recorded.
pub fn tr_data(text: &str) -> Cow<'_, str> {
    translate(text, false)
}

fn translate(text: &str, record: bool) -> Cow<'_, str> {
    if lang() == Lang::En || !text.chars().any(|c| c.is_ascii_alphabetic()) {
        return Cow::Borrowed(text);
    }
    if let Some(zh) = exact().get(text) {
        return Cow::Borrowed(zh);
    }
    let clauses = text.contains("; ");
    for (pattern, zh) in ZH_TEMPLATES {
        // A text of several clauses goes clause by clause below, unless the template itself
        // spans them.
        if clauses && !pattern.contains("; ") {
            continue;
        }
        if let Some(parts) = matches(pattern, text) {
            let mut out = String::new();
            let mut parts = parts.into_iter();
            let mut pieces = zh.split("{}");
            if let Some(first) = pieces.next() {
                out.push_str(first);
            }
            for piece in pieces {
                let part = parts.next().unwrap_or_default();
                out.push_str(&translate(part, false));
                out.push_str(piece);
            }
            return Cow::Owned(out);
        }
    }
    // Clauses joined by "; " (a churn driver cell), each on its own.
    if clauses {
        let clauses: Vec<Cow<str>> = text.split("; ").map(|c| translate(c, false)).collect();
        if clauses
            .iter()
            .any(|c| matches!(c, Cow::Owned(_)) || !c.is_ascii())
        {
            return Cow::Owned(clauses.join("；"));
        }
    }
    if record {
        if let Ok(mut misses) = MISSES.lock() {
            misses.insert(text.to_string());
        }
    }
    Cow::Borrowed(text)
}

/// The parts of `text` that the `{}` of `pattern` stand for, when the literal pieces match.
fn matches<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let pieces: Vec<&str> = pattern.split("{}").collect();
    let mut rest = text.strip_prefix(pieces[0])?;
    let mut parts = Vec::with_capacity(pieces.len() - 1);
    for (k, piece) in pieces.iter().enumerate().skip(1) {
        if k == pieces.len() - 1 {
            if piece.is_empty() {
                parts.push(rest);
                rest = "";
            } else {
                let at = rest.strip_suffix(piece)?;
                parts.push(at);
                rest = "";
            }
        } else {
            let at = rest.find(piece)?;
            parts.push(&rest[..at]);
            rest = &rest[at + piece.len()..];
        }
        if parts.last().is_some_and(|p| p.is_empty()) {
            return None;
        }
    }
    rest.is_empty().then_some(parts)
}

/// The labels shown in English for want of a translation in this run (for the completeness
/// test; `CRM_EVAL_I18N_MISSES=1` prints them at the end of a run).
pub fn misses() -> Vec<String> {
    MISSES
        .lock()
        .map(|m| m.iter().cloned().collect())
        .unwrap_or_default()
}

mod zh;
pub use zh::{ZH, ZH_TEMPLATES};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_carry_their_figures() {
        assert_eq!(
            matches("{} of {} rows", "3 of 10 rows"),
            Some(vec!["3", "10"])
        );
        assert_eq!(
            matches("as of {}", "as of 2025-01-01"),
            Some(vec!["2025-01-01"])
        );
        assert_eq!(matches("as of {}", "since 2025"), None);
        assert_eq!(matches("{}: {}", "a: b: c"), Some(vec!["a", "b: c"]));
    }

    /// No key twice, no empty translation, and every template's `{}` count kept.
    #[test]
    fn the_table_is_well_formed() {
        let mut seen = BTreeSet::new();
        for (en, zh) in ZH {
            assert!(seen.insert(*en), "{en:?} twice");
            assert!(!zh.is_empty(), "{en:?} has no translation");
        }
        for (en, zh) in ZH_TEMPLATES {
            assert_eq!(en.matches("{}").count(), zh.matches("{}").count(), "{en:?}");
        }
    }
}
