//! `crm-eval nps SURVEYS [--by owner,month]`: NPS and CSAT with 95 % intervals.

use anyhow::{bail, Result};

use crate::cli::Settings;
use crate::input::schema::{Role, TableKind};
use crate::metrics::nps::{self, NpsGroup, SurveyKind};
use crate::output::{self, note};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Survey responses (CSV/TSV, optionally .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "SURVEYS")]
    pub surveys: String,

    /// Group by owner, by response month, or both (owner,month).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "GROUP,...")]
    pub by: Vec<NpsGroup>,

    /// The scale of responses whose survey is not named by a survey column.
    #[arg(long, value_enum, default_value = "nps")]
    pub scale: SurveyKind,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let surveys = crate::load::table(
        &args.surveys,
        TableKind::Surveys,
        Some(&[Role::Survey, Role::Owner, Role::ResponseDate]),
        settings,
    )?;
    let display = &surveys.info.display;
    for group in &args.by {
        let (role, what) = match group {
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
    let result = nps::nps(&surveys.df, args.scale, &args.by)?;
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
    output::emit(&result.table, out)
}

fn role_word(group: NpsGroup) -> &'static str {
    match group {
        NpsGroup::Owner => "owner",
        NpsGroup::Month => "month",
    }
}
