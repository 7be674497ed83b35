//! Resolving an export's headers to roles: header normalisation, `--map` entries, and the
//! bindings of a table's columns (or why they cannot be bound).

use super::{Role, TableKind, ALL_ROLES, ALL_TABLES};

/// The punctuation [`normalise_header`] drops besides white space: underscores, hyphens, dots,
/// slashes, brackets (ASCII and full-width), colons, `#` and `*` (`crm-eval sql` drops the same
/// characters when it compares stage words).
pub const HEADER_PUNCTUATION: &[char] = &[
    '_', '-', '.', '/', '(', ')', '（', '）', '[', ']', '【', '】', ':', '：', '#', '*',
];

/// The characters `char::is_whitespace` holds (Unicode White_Space), for SQL that must drop
/// exactly what [`normalise_header`] drops.
pub const WHITE_SPACE: &[char] = &[
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Lower-cases and drops white space and [`HEADER_PUNCTUATION`] (and a leading byte-order
/// mark), so that `Customer ID`, `customer_id` and `客户ID（编号）` compare by their letters.
pub fn normalise_header(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && !HEADER_PUNCTUATION.contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One role resolved to one header of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub role: Role,
    pub header: String,
    /// How the header was chosen: "--map", "config", or "synonym".
    pub via: &'static str,
}

/// An explicit role → header assignment from `--map` or the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// The table it applies to, or every table that has the role.
    pub table: Option<TableKind>,
    pub role: Role,
    pub header: String,
    pub via: &'static str,
}

impl MapEntry {
    /// Parses `[table.]role=header` (`via` names where it came from: "--map" or "config").
    pub fn parse(spec: &str, via: &'static str) -> anyhow::Result<MapEntry> {
        let Some((lhs, header)) = spec.split_once('=') else {
            return Err(crate::error::usage(format!(
                "{via} {spec:?}: expected ROLE=HEADER, e.g. customer_id=客户编号"
            )));
        };
        let (table, role_name) = match lhs.split_once('.') {
            Some((t, r)) => {
                let table = TableKind::from_name(t).ok_or_else(|| {
                    crate::error::usage(format!(
                        "{via} {spec:?}: unknown table {t:?}; tables are {}",
                        ALL_TABLES.map(|t| t.name()).join(", ")
                    ))
                })?;
                (Some(table), r)
            }
            None => (None, lhs),
        };
        let role = Role::from_name(role_name).ok_or_else(|| {
            crate::error::usage(format!(
                "{via} {spec:?}: unknown role {role_name:?}; roles are {}",
                ALL_ROLES
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if let Some(t) = table {
            if !t.roles().any(|r| r == role) {
                return Err(crate::error::usage(format!(
                    "{via} {spec:?}: {t} have no {role} column"
                )));
            }
        }
        if header.trim().is_empty() {
            return Err(crate::error::usage(format!(
                "{via} {spec:?}: the header name is empty"
            )));
        }
        Ok(MapEntry {
            table,
            role,
            header: header.to_string(),
            via,
        })
    }
}

/// Why a table's columns could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// A `--map`/config header that is not in the file.
    MappedHeaderMissing {
        role: Role,
        header: String,
        via: &'static str,
    },
    /// A required role that no header matched.
    Missing { role: Role },
    /// Two headers name the same thing (they are equal once normalised, e.g. `Amount` and
    /// `amount`): which one is meant cannot be guessed.
    Ambiguous { role: Role, headers: Vec<String> },
}

/// The `--map`/config entry naming the column of `role` in a `kind` table: a table-specific
/// entry beats an unqualified one; the last of equals wins, so the command line (applied after
/// the config file) overrides it.
pub fn mapping(mappings: &[MapEntry], kind: TableKind, role: Role) -> Option<&MapEntry> {
    mappings
        .iter()
        .rfind(|m| m.role == role && m.table == Some(kind))
        .or_else(|| {
            mappings
                .iter()
                .rfind(|m| m.role == role && m.table.is_none())
        })
}

/// Resolves every role of `kind` against `headers`. Explicit mappings win; then synonyms in order
/// of preference. A header serves one role only, given to the role listed first in the table.
pub fn resolve(
    kind: TableKind,
    headers: &[String],
    mappings: &[MapEntry],
) -> Result<Vec<Binding>, ResolveError> {
    let (bindings, missing) = resolve_partial(kind, headers, mappings)?;
    match missing.first() {
        Some(&role) => Err(ResolveError::Missing { role }),
        None => Ok(bindings),
    }
}

/// Like [`resolve`], but a required role that nothing matches is returned in the second list
/// instead of failing (for `inspect`, which shows what it can).
pub fn resolve_partial(
    kind: TableKind,
    headers: &[String],
    mappings: &[MapEntry],
) -> Result<(Vec<Binding>, Vec<Role>), ResolveError> {
    let mut missing = Vec::new();
    let normalised: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    let mut taken = vec![false; headers.len()];
    let mut bindings = Vec::new();

    // Explicit mappings first, so a synonym can never steal the column the user named.
    let mut explicit: Vec<(Role, usize, &'static str)> = Vec::new();
    for role in kind.roles() {
        let Some(entry) = mapping(mappings, kind, role) else {
            continue;
        };
        let wanted = entry.header.trim();
        let found = headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim() == wanted)
            .or_else(|| {
                let n = normalise_header(wanted);
                normalised.iter().position(|h| *h == n)
            });
        match found {
            Some(i) => {
                taken[i] = true;
                explicit.push((role, i, entry.via));
            }
            None if entry.table.is_some() || kind.required().contains(&role) => {
                return Err(ResolveError::MappedHeaderMissing {
                    role,
                    header: entry.header.clone(),
                    via: entry.via,
                })
            }
            None => {}
        }
    }

    for role in kind.roles() {
        if let Some(&(_, i, via)) = explicit.iter().find(|(r, _, _)| *r == role) {
            bindings.push(Binding {
                role,
                header: headers[i].clone(),
                via,
            });
            continue;
        }
        let matching = |syn: &&str| -> Vec<usize> {
            (0..headers.len())
                .filter(|&i| !taken[i] && normalised[i] == *syn)
                .collect()
        };
        let candidates = role.synonyms().iter().map(matching).find(|c| !c.is_empty());
        if let Some(c) = candidates.as_ref().filter(|c| c.len() > 1) {
            return Err(ResolveError::Ambiguous {
                role,
                headers: c.iter().map(|&i| headers[i].clone()).collect(),
            });
        }
        let found = candidates.map(|c| c[0]);
        match found {
            Some(i) => {
                taken[i] = true;
                bindings.push(Binding {
                    role,
                    header: headers[i].clone(),
                    via: "synonym",
                });
            }
            None if kind.required().contains(&role) => missing.push(role),
            None => {}
        }
    }
    // A required role computed from others the file has is not missing.
    missing.retain(|&role| {
        !kind
            .derivable(role)
            .is_some_and(|from| from.iter().all(|r| bindings.iter().any(|b| b.role == *r)))
    });
    Ok((bindings, missing))
}

/// Guesses which table a file is from its headers and the `--map`/config mappings: the table a
/// table-qualified mapping names (`--map orders.amount=…`), else the kind whose required roles
/// all resolve, preferring the one that resolves the most roles.
pub fn guess_kind(headers: &[String], mappings: &[MapEntry]) -> Option<TableKind> {
    if let Some(kind) = mappings.iter().rev().find_map(|m| m.table) {
        return Some(kind);
    }
    ALL_TABLES
        .into_iter()
        .filter_map(|kind| {
            resolve(kind, headers, mappings)
                .ok()
                // A subscriptions file is one with a start date or a tenure, not any file
                // with customer IDs.
                .filter(|b| {
                    kind != TableKind::Subscriptions
                        || b.iter()
                            .any(|b| matches!(b.role, Role::StartDate | Role::Tenure))
                })
                .map(|b| (kind, b.len() * 10 + kind.required().len()))
        })
        .max_by_key(|(_, score)| *score)
        .map(|(kind, _)| kind)
}
