//! The canonical ad event, as stored in the `events` table.

use std::borrow::Cow;

use clickhouse::Row;
use serde::Serialize;
use serde_repr::Serialize_repr;
use time::OffsetDateTime;

/// One row of `events`. `ingested_at` is left to the server default.
/// Strings borrow from the parsed input where they can: the ingester builds
/// millions of these per second and serializes each straight away.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize)]
pub struct Event<'a> {
    pub tenant: Cow<'a, str>,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub ts: OffsetDateTime,
    pub event_type: EventType,
    pub publisher_id: Cow<'a, str>,
    pub placement_id: Cow<'a, str>,
    pub demand_partner: Cow<'a, str>,
    pub campaign_id: Cow<'a, str>,
    pub creative_id: Cow<'a, str>,
    pub ad_format: Cow<'a, str>,
    pub country: Cow<'a, str>,
    pub device_type: Cow<'a, str>,
    pub os: Cow<'a, str>,
    pub domain: Cow<'a, str>,
    pub user_id_hash: u64,
    pub revenue_micros: i64,
    pub cost_micros: i64,
    pub error_code: u16,
    pub source: Cow<'a, str>,
    pub file: Cow<'a, str>,
    pub line: u64,
}

/// `events.event_type`; the discriminants are the Enum8 values of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr)]
#[repr(i8)]
pub enum EventType {
    Request = 1,
    Impression = 2,
    Click = 3,
    VideoStart = 4,
    VideoFirstQuartile = 5,
    VideoMidpoint = 6,
    VideoThirdQuartile = 7,
    VideoComplete = 8,
    Error = 9,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        Self::Request,
        Self::Impression,
        Self::Click,
        Self::VideoStart,
        Self::VideoFirstQuartile,
        Self::VideoMidpoint,
        Self::VideoThirdQuartile,
        Self::VideoComplete,
        Self::Error,
    ];

    /// The event type of a schema name such as `video_midpoint`. A `match`
    /// (dispatch on the length, then one comparison) rather than a search
    /// of [`Self::ALL`]: the ingester asks once per row.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "request" => Self::Request,
            "impression" => Self::Impression,
            "click" => Self::Click,
            "video_start" => Self::VideoStart,
            "video_first_quartile" => Self::VideoFirstQuartile,
            "video_midpoint" => Self::VideoMidpoint,
            "video_third_quartile" => Self::VideoThirdQuartile,
            "video_complete" => Self::VideoComplete,
            "error" => Self::Error,
            _ => return None,
        })
    }

    /// The name used in the schema and in log files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Impression => "impression",
            Self::Click => "click",
            Self::VideoStart => "video_start",
            Self::VideoFirstQuartile => "video_first_quartile",
            Self::VideoMidpoint => "video_midpoint",
            Self::VideoThirdQuartile => "video_third_quartile",
            Self::VideoComplete => "video_complete",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
/// The dimensions of `events`: the columns results are grouped and filtered
/// by, and that log sources map text onto (all but `source`, which is lineage).
pub enum Dimension {
    PublisherId,
    PlacementId,
    DemandPartner,
    CampaignId,
    CreativeId,
    AdFormat,
    Country,
    DeviceType,
    Os,
    Domain,
    Source,
}

impl Dimension {
    pub const ALL: [Dimension; 11] = [
        Self::PublisherId,
        Self::PlacementId,
        Self::DemandPartner,
        Self::CampaignId,
        Self::CreativeId,
        Self::AdFormat,
        Self::Country,
        Self::DeviceType,
        Self::Os,
        Self::Domain,
        Self::Source,
    ];

    /// The API name, which is also the column name in every table that has it.
    pub fn name(self) -> &'static str {
        match self {
            Self::PublisherId => "publisher_id",
            Self::PlacementId => "placement_id",
            Self::DemandPartner => "demand_partner",
            Self::CampaignId => "campaign_id",
            Self::CreativeId => "creative_id",
            Self::AdFormat => "ad_format",
            Self::Country => "country",
            Self::DeviceType => "device_type",
            Self::Os => "os",
            Self::Domain => "domain",
            Self::Source => "source",
        }
    }

    /// Display name for dashboards.
    pub fn label(self) -> &'static str {
        match self {
            Self::PublisherId => "Publisher",
            Self::PlacementId => "Placement",
            Self::DemandPartner => "Demand partner",
            Self::CampaignId => "Campaign",
            Self::CreativeId => "Creative",
            Self::AdFormat => "Ad format",
            Self::Country => "Country",
            Self::DeviceType => "Device type",
            Self::Os => "Operating system",
            Self::Domain => "Domain",
            Self::Source => "Source",
        }
    }

    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|dimension| dimension.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|dimension| dimension.name()).collect()
    }
}

impl<'a> Event<'a> {
    /// The value of a dimension column.
    pub fn dimension_mut(&mut self, dimension: Dimension) -> &mut Cow<'a, str> {
        match dimension {
            Dimension::PublisherId => &mut self.publisher_id,
            Dimension::PlacementId => &mut self.placement_id,
            Dimension::DemandPartner => &mut self.demand_partner,
            Dimension::CampaignId => &mut self.campaign_id,
            Dimension::CreativeId => &mut self.creative_id,
            Dimension::AdFormat => &mut self.ad_format,
            Dimension::Country => &mut self.country,
            Dimension::DeviceType => &mut self.device_type,
            Dimension::Os => &mut self.os,
            Dimension::Domain => &mut self.domain,
            Dimension::Source => &mut self.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_name_reads_exactly_the_names_as_str_writes() {
        for event_type in EventType::ALL {
            assert_eq!(EventType::from_name(event_type.as_str()), Some(event_type));
        }
        for other in ["", "Request", "request ", "video", "errors"] {
            assert_eq!(EventType::from_name(other), None, "{other:?}");
        }
    }
}
