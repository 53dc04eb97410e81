//! The rollups of `schema/0002_rollups.sql`, declared once for the code that
//! reads them: table, bucket width, dimensions and the setting that sets the
//! table's retention. A test compares this declaration with the columns of a
//! freshly migrated database, so the two cannot drift apart.

use crate::event::Dimension;
use crate::settings::SchemaSettings;

/// How long a table keeps its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Forever,
    /// `schema.minute_ttl_days`
    MinuteTtl,
    /// `schema.hour_ttl_days`
    HourTtl,
    /// `schema.events_ttl_days`, raw `events`' own.
    EventsTtl,
}

impl Retention {
    /// Days of retention under `schema`; `None` is forever.
    pub fn days(self, schema: &SchemaSettings) -> Option<u32> {
        match self {
            Self::Forever => None,
            Self::MinuteTtl => Some(schema.minute_ttl_days),
            Self::HourTtl => Some(schema.hour_ttl_days),
            Self::EventsTtl => Some(schema.events_ttl_days),
        }
    }

    /// The settings key, for messages that name the retention.
    pub fn key(self) -> Option<&'static str> {
        match self {
            Self::Forever => None,
            Self::MinuteTtl => Some("schema.minute_ttl_days"),
            Self::HourTtl => Some("schema.hour_ttl_days"),
            Self::EventsTtl => Some("schema.events_ttl_days"),
        }
    }
}

/// One rollup table: partial aggregates per tenant, UTC bucket and
/// combination of its dimensions.
#[derive(Debug, Clone, Copy)]
pub struct Rollup {
    pub table: &'static str,
    /// Width of the UTC-aligned buckets (the `bucket` column).
    pub bucket_secs: i64,
    pub dimensions: &'static [Dimension],
    pub retention: Retention,
}

use Dimension::*;

/// Every rollup, coarsest first: on ad traffic a coarser bucket folds more
/// events into a row than its extra dimensions split them again.
pub const ROLLUPS: [Rollup; 3] = [
    Rollup {
        table: "events_1d",
        bucket_secs: 86_400,
        dimensions: &[PublisherId, PlacementId, DemandPartner, CampaignId, CreativeId, AdFormat, Country, DeviceType, Domain],
        retention: Retention::Forever,
    },
    Rollup {
        table: "events_1h",
        bucket_secs: 3_600,
        dimensions: &[PublisherId, PlacementId, DemandPartner, CampaignId, AdFormat, Country, DeviceType],
        retention: Retention::HourTtl,
    },
    Rollup {
        table: "events_1m",
        bucket_secs: 60,
        dimensions: &[PublisherId, DemandPartner, AdFormat, Country, DeviceType],
        retention: Retention::MinuteTtl,
    },
];
