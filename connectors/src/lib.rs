//! Ad-platform connectors: one module per platform behind the narrow
//! [`Platform`] trait (discover accounts, fetch daily rows, refresh
//! credentials), a shared rate-limited HTTP layer (`http`), OAuth helpers
//! (`oauth`) and the token vault (`vault`). Every platform response is parsed
//! into typed structs at the edge; callers see [`model`] types only.

pub mod error;
pub mod http;
pub mod meta;
pub mod model;
pub mod oauth;
pub mod platform;
pub mod vault;

pub use error::{Error, ErrorKind, Result};
pub use model::{Account, Credentials, DailyRow, DateRange, Level, PlatformId};
pub use platform::Platform;
