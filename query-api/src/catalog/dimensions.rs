//! The dimensions of `events`, by which results can be grouped and filtered.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
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
