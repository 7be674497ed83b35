//! Integration tests: the real binary, run in a temporary directory per test, its output read back.

mod abc;
mod allocation;
mod check;
mod clv;
mod common;
mod corpus;
mod datasets;
mod docs;
mod exports;
mod funnel;
mod groups;
mod input;
mod inspect;
mod ledger;
mod nps;
mod output;
mod owners;
mod predict;
mod properties;
mod ranges;
mod report;
mod retention;
mod rfm;
mod shell;
mod sql;
mod value;
