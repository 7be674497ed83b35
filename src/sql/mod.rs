//! `crm-eval sql COMMAND --dialect D`: the SQL that computes a command's table with the same
//! definitions (docs/metrics.md, "SQL"), for engines that hold more data than one machine. The
//! purchase rule is written here once as SQL ([`ledger_ctes`]) and every generated query starts
//! from it, as every command starts from the ledger.
//!
//! The SQL reads an `orders` table (or view; the name is a parameter) with the columns
//! customer_id, order_id (NULL where the export has none), order_date (DATE), amount and status
//! (NULL, or a status word of the export), under other headers when `--map` or the config names
//! them ([`relation`]); status, event and survey words are mapped as the input layer maps them.

mod abc;
mod cancel;
mod clv_summary;
mod cohort;
mod conversion;
mod dialect;
mod funnel;
mod ledger;
mod lifecycle;
mod nps;
mod pool;
mod rating;
mod recovery;
mod rfm;
mod shared;
mod source;

pub use abc::abc;
pub use clv_summary::clv_summary;
pub use cohort::cohort;
pub use conversion::conversion;
pub use dialect::Dialect;
pub use funnel::FunnelQuery;
pub use ledger::ledger_ctes;
pub use lifecycle::{lifecycle, lifecycle_rates};
pub use nps::nps;
pub use pool::pool;
pub use rating::rating;
pub use recovery::recovery;
pub use rfm::rfm;
pub use shared::CustomerColumns;
pub use source::{relation, LineItems, Source};

use dialect::{quote, quote_ident, round4, round_half_away, round_to};
use shared::{
    customer_keys, spell_ctes, wilson_bound, wilson_columns, window_ctes, FollowupSql, GroupSql,
};

use crate::input::schema::{mapping, MapEntry, Role, TableKind};
use crate::metrics::abc::AbcBasis;
use crate::metrics::clv::TimeUnit;
use crate::metrics::cohort::CohortMetric;
use crate::metrics::conversion::ConversionGroup;
use crate::metrics::lifecycle::LifecycleOptions;
use crate::metrics::periods::Period;
use crate::metrics::rating::{Criterion, Normalise, RatingRules};
use crate::metrics::recovery::RecoveryGroup;
use crate::metrics::rfm::{grid_score, FrequencyBasis, RfmOptions, Scoring, UNMATCHED_SEGMENT};
