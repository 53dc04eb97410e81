//! Linking ad-platform accounts to a tenant: the OAuth flow (`flow`: signed
//! state, PKCE, the callback), pending grants (`grants`), linking chosen
//! accounts and queueing their backfill (`link`, `sync_queue`), and the
//! tenant's accounts with their backfill progress (`listing`). How the pieces
//! fit and why: `DESIGN.md`.

pub mod flow;
pub mod grants;
pub mod link;
pub mod linking;
pub mod listing;
pub mod sync_queue;

pub use linking::Linking;
