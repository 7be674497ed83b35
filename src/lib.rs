//! crm-eval: analytics for CRM exports. The binary (`main.rs`) only parses arguments and maps
//! errors to exit codes; everything else lives here so tests can call it directly.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod day;
pub mod diag;
pub mod error;
pub mod i18n;
pub mod input;
pub mod keys;
pub mod ledger;
pub mod load;
pub mod metrics;
pub mod money;
pub mod output;
pub mod paths;
pub mod report;
pub mod settings;
pub mod sql;
