//! `crm-eval nps SURVEYS [--by owner,month]`: NPS and CSAT with 95 % intervals.

use anyhow::{bail, Result};

use crate::day::Day;
use crate::input::schema::{Role, TableKind};
use crate::load::groups::{split_by, CustomerGroups};
use crate::load::range::{with_range_columns, RangeArgs, Ranged};
use crate::metrics::nps::{self, NpsGroup, SurveyKind};
use crate::metrics::GroupKeys;
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Survey responses (CSV/TSV, optionally .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "SURVEYS")]
    pub surveys: String,

    /// Group by owner, by response month, and by any customers-file column of the responding
    /// customer (role or header, e.g. region or 标签; needs --customers and a customer_id column
    /// in the surveys), e.g. owner,month or region.
    #[arg(long, value_name = "GROUP,...")]
    pub by: Option<String>,

    /// Customers export, for --by COLUMN.
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// The scale of responses whose survey is not named by a survey column.
    #[arg(long, value_enum, default_value = "nps")]
    pub scale: SurveyKind,

    #[command(flatten)]
    pub dates: RangeArgs,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let (by, columns) = match &args.by {
        Some(by) => split_by(
            by,
            |name| match name {
                "owner" => Some(NpsGroup::Owner),
                "month" => Some(NpsGroup::Month),
                _ => None,
            },
            NpsGroup::Customer,
            args.customers.is_some(),
            "owner, month",
        )?,
        None => (Vec::new(), Vec::new()),
    };
    let surveys = crate::load::table(
        &args.surveys,
        TableKind::Surveys,
        Some(&[
            Role::Survey,
            Role::Owner,
            Role::ResponseDate,
            Role::CustomerId,
        ]),
        settings,
    )?;
    let range = args.dates.parse()?;
    let mut surveys = surveys;
    let span = match &range {
        Some(r) => Some(responses_in_range(&mut surveys, r, settings)?),
        None => None,
    };
    let display = &surveys.info.display;
    let rows = match (&args.customers, columns.is_empty()) {
        (Some(path), false) => {
            if !surveys.has(Role::CustomerId) {
                bail!(
                    "{display}: --by {} needs the responding customer: a customer_id column \
                     (customer_id, 客户编号, …); name it with --map customer_id=HEADER",
                    columns.join(",")
                );
            }
            let groups = CustomerGroups::load(path, &columns, settings)?;
            let ids = surveys.df.column(Role::CustomerId.name())?.str()?.clone();
            Some(GroupKeys {
                names: columns.clone(),
                of: ids.iter().map(|id| groups.of(id.unwrap_or(""))).collect(),
            })
        }
        _ => None,
    };
    for group in &by {
        let (role, what) = match group {
            NpsGroup::Customer => continue,
            NpsGroup::Owner => (Role::Owner, "an owner column (owner, 负责人, …)"),
            NpsGroup::Month => (
                Role::ResponseDate,
                "a response date column (response_date, 日期, …)",
            ),
        };
        if !surveys.has(role) {
            bail!(
                "{display}: --by {} needs {what}; name it with --map {role}=HEADER",
                role_word(*group)
            );
        }
    }
    let result = nps::nps(&surveys.df, args.scale, &by, rows.as_ref())?;
    let out = &settings.output;
    if !result.rejected.is_empty() {
        let examples: Vec<String> = result
            .rejected
            .iter()
            .take(3)
            .map(|r| format!("row {}: {}", surveys.info.row_number(r.index), r.reason))
            .collect();
        note(
            out,
            format!(
                "{display}: {} of {} responses left out as out of range or unreadable ({})",
                result.rejected.len(),
                surveys.df.height(),
                examples.join("; ")
            ),
        );
    }
    if result.table.height() == 0 {
        bail!("{display}: no response with a valid score");
    }
    note(
        out,
        "score: NPS in points (−100…100) or CSAT in percent, with 95 % intervals",
    );
    match span {
        Some(span) => output::emit(&with_range_columns(result.table, span)?, out),
        None => output::emit(&result.table, out),
    }
}

/// Keeps the responses dated in the range; the analysis date is the range's end, or the day
/// after the latest response for a range relative to it.
fn responses_in_range(
    surveys: &mut crate::input::Table,
    r: &Ranged,
    settings: &Settings,
) -> Result<crate::metrics::periods::Span> {
    let display = surveys.info.display.clone();
    if !surveys.has(Role::ResponseDate) {
        bail!(
            "{display}: {} needs each response's date: no response date column (response_date, \
             日期, …; name it with --map response_date=HEADER)",
            r.flags
        );
    }
    let dates = surveys
        .df
        .column(Role::ResponseDate.name())?
        .date()?
        .clone();
    let latest = dates
        .physical()
        .iter()
        .flatten()
        .max()
        .map(|d| Day::new(d) + 1);
    let as_of = match (r.range.fixed_as_of(), latest) {
        (Some(day), _) => Day::new(day),
        (None, Some(day)) => day,
        (None, None) => bail!(
            "{display}: no dated response, so {} cannot be placed",
            r.flags
        ),
    };
    let span = r.range.span(as_of);
    let keep = nps::counted(&dates, Some(span.from), span.to);
    let undated = dates.null_count();
    if undated > 0 {
        note(
            &settings.output,
            format!("{display}: {undated} responses without a date cannot be placed in the range and are left out"),
        );
    }
    surveys.df = surveys.df.filter(&keep)?;
    if surveys.df.height() == 0 {
        return Err(r.nothing_in(span, "response", &display));
    }
    Ok(span)
}

fn role_word(group: NpsGroup) -> &'static str {
    match group {
        NpsGroup::Owner => "owner",
        NpsGroup::Month => "month",
        NpsGroup::Customer => "column",
    }
}
