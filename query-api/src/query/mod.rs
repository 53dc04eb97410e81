//! `POST /api/v1/query`: request → validated query → SQL on the chosen
//! table → dense rows, totals and comparison; `POST /api/v1/discrepancy`
//! on top of two datasets' queries.

pub mod discrepancy;
pub mod execute;
pub mod labels;
pub mod request;
pub mod response;
pub mod sql;
pub mod time;

pub use execute::Executor;
pub use request::{Context, Limits, Query, QueryRequest};
