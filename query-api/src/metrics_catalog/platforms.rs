//! Dimensions of linked ad-platform accounts. Each platform reports every
//! level (account, campaign, ad group, ad) on its own, and `platform_daily`
//! keeps them apart without parent ids, so a query reads one level: the one
//! its campaign, ad group or ad dimension names, else the account level.

use adhouse_connectors::Level;

crate::names::named_enum!(PlatformDimension {
    Platform = "platform",
    Account = "account",
    Campaign = "campaign",
    AdGroup = "ad_group",
    Ad = "ad",
    Currency = "currency",
});

impl PlatformDimension {
    pub fn label(self) -> &'static str {
        match self {
            Self::Platform => "Platform",
            Self::Account => "Account",
            Self::Campaign => "Campaign",
            Self::AdGroup => "Ad group",
            Self::Ad => "Ad",
            Self::Currency => "Currency",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Account => "account_id",
            Self::Campaign | Self::AdGroup | Self::Ad => "entity_id",
            Self::Currency => "currency",
        }
    }

    /// The report level whose entities this dimension is.
    pub fn level(self) -> Option<Level> {
        match self {
            Self::Campaign => Some(Level::Campaign),
            Self::AdGroup => Some(Level::AdGroup),
            Self::Ad => Some(Level::Ad),
            Self::Platform | Self::Account | Self::Currency => None,
        }
    }
}
