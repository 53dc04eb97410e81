//! Integration tests of `adhouse-api` against the local stack (`make dev-up`,
//! `source .dev/env`). Each test gets a database of its own, generated
//! events, real tokens, and calls the real HTTP application.

#[path = "../../../core/tests/integration/common.rs"]
#[allow(dead_code, reason = "shared with adhouse-core's tests; not every helper is used here")]
mod common;
mod support;

mod accounts;
mod endpoints;
mod errors;
mod hostile;
mod matrix;
mod partners;
mod platforms;
mod schema;
mod tokens;
