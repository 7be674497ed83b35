//! What `predict churn` reads besides the orders (docs/metrics.md, "Churn prediction"): the
//! days of follow-ups, owner changes and returns to the pool, survey answers, and the source,
//! industry and region of each customer, keyed by customer ID.

use std::collections::HashMap;

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::day::Day;
use crate::input::schema::{Role, TableKind};
use crate::metrics::nps::SurveyKind;
use crate::metrics::ownership::EventKind;
use crate::metrics::predict::churn::Signals;
use crate::settings::Settings;

/// The files of the signals, each optional.
pub struct SignalFiles<'a> {
    pub followups: Option<&'a str>,
    pub events: Option<&'a str>,
    pub surveys: Option<&'a str>,
    pub customers: Option<&'a str>,
}

/// A column of IDs as text (empty for a missing cell).
fn ids(df: &DataFrame, role: Role) -> Result<Vec<String>> {
    Ok(df
        .column(role.name())?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect())
}

/// A date or timestamp column as days since 1970-01-01.
fn days(df: &DataFrame, role: Role) -> Result<Vec<Option<i32>>> {
    let c = df.column(role.name())?;
    Ok(match c.dtype() {
        DataType::Date => c.date()?.physical().iter().collect(),
        _ => c
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
            .datetime()?
            .physical()
            .iter()
            .map(|ms| ms.map(|ms| Day::of_ms(ms).days()))
            .collect(),
    })
}

fn sorted<T: PartialOrd + Copy>(mut m: HashMap<String, Vec<T>>) -> HashMap<String, Vec<T>> {
    for v in m.values_mut() {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    }
    m
}

pub fn load(files: &SignalFiles, settings: &Settings) -> Result<Signals> {
    let mut s = Signals::default();
    if let Some(path) = files.followups {
        let t = crate::load::table(path, TableKind::Followups, None, settings)?;
        let mut m: HashMap<String, Vec<i32>> = HashMap::new();
        for (id, day) in ids(&t.df, Role::CustomerId)?
            .into_iter()
            .zip(days(&t.df, Role::FollowupTime)?)
        {
            if let (false, Some(d)) = (id.is_empty(), day) {
                m.entry(id).or_default().push(d);
            }
        }
        s.followups = Some(sorted(m));
    }
    if let Some(path) = files.events {
        let t = crate::load::table(path, TableKind::Events, None, settings)?;
        let kinds = t.df.column(Role::Event.name())?.cast(&DataType::String)?;
        let kinds = kinds.str()?;
        let mut changes: HashMap<String, Vec<i32>> = HashMap::new();
        let mut returns: HashMap<String, Vec<i32>> = HashMap::new();
        for (row, (id, day)) in ids(&t.df, Role::CustomerId)?
            .into_iter()
            .zip(days(&t.df, Role::EventTime)?)
            .enumerate()
        {
            let raw = kinds.get(row).unwrap_or("");
            let Some(kind) = EventKind::parse(raw) else {
                bail!(
                    "{}: row {}: column {}: {raw:?} is not an ownership event; expected {}",
                    t.info.display,
                    row + 2,
                    t.bindings
                        .iter()
                        .find(|b| b.role == Role::Event)
                        .map_or("event", |b| b.header.as_str()),
                    EventKind::ACCEPTED
                );
            };
            let (false, Some(d)) = (id.is_empty(), day) else {
                continue;
            };
            match kind {
                EventKind::Recycle | EventKind::Release => returns.entry(id).or_default().push(d),
                _ => changes.entry(id).or_default().push(d),
            }
        }
        s.owner_changes = Some(sorted(changes));
        s.pool_returns = Some(sorted(returns));
    }
    if let Some(path) = files.surveys {
        let t = crate::load::table(
            path,
            TableKind::Surveys,
            Some(&[Role::Survey, Role::ResponseDate, Role::CustomerId]),
            settings,
        )?;
        for role in [Role::CustomerId, Role::ResponseDate] {
            if !t.has(role) {
                bail!(
                    "{}: churn features need each answer's customer and date: no {} column \
                     (name it with --map {}=HEADER)",
                    t.info.display,
                    role.name(),
                    role.name()
                );
            }
        }
        let kinds: Vec<Option<SurveyKind>> = if t.has(Role::Survey) {
            let c = t.df.column(Role::Survey.name())?.cast(&DataType::String)?;
            c.str()?
                .iter()
                .map(|v| Some(v.and_then(SurveyKind::parse).unwrap_or_default()))
                .collect()
        } else {
            vec![Some(SurveyKind::Nps); t.df.height()]
        };
        let scores = t.df.column(Role::Score.name())?.cast(&DataType::Float64)?;
        let scores = scores.f64()?;
        let mut nps: HashMap<String, Vec<(i32, f64)>> = HashMap::new();
        let mut csat: HashMap<String, Vec<(i32, f64)>> = HashMap::new();
        for (row, (id, day)) in ids(&t.df, Role::CustomerId)?
            .into_iter()
            .zip(days(&t.df, Role::ResponseDate)?)
            .enumerate()
        {
            let (false, Some(d), Some(score), Some(kind)) =
                (id.is_empty(), day, scores.get(row), kinds[row])
            else {
                continue;
            };
            match kind {
                SurveyKind::Nps => nps.entry(id).or_default().push((d, score)),
                SurveyKind::Csat => csat.entry(id).or_default().push((d, score)),
            }
        }
        s.nps = Some(sorted(nps));
        s.csat = Some(sorted(csat));
    }
    if let Some(path) = files.customers {
        let roles = [Role::Source, Role::Industry, Role::Region];
        let t = crate::load::table(path, TableKind::Customers, Some(&roles), settings)?;
        let customer = ids(&t.df, Role::CustomerId)?;
        for role in roles.into_iter().filter(|r| t.has(*r)) {
            let values = ids(&t.df, role)?;
            let m: HashMap<String, String> = customer
                .iter()
                .zip(values)
                .filter(|(id, v)| !id.is_empty() && !v.is_empty())
                .map(|(id, v)| (id.clone(), v))
                .collect();
            s.attributes.push((role.name().to_string(), m));
        }
    }
    Ok(s)
}
