//! Dimensions of partner-reported metrics (`partner_metrics`, filled by the
//! ingester's live-metrics feeds). Publisher, placement and country are
//! empty where a feed's partner does not report them.

crate::names::named_enum!(PartnerDimension {
    Feed = "feed",
    Partner = "partner",
    Publisher = "publisher_id",
    Placement = "placement_id",
    Country = "country",
    Currency = "currency",
});

impl PartnerDimension {
    pub fn label(self) -> &'static str {
        match self {
            Self::Feed => "Feed",
            Self::Partner => "Partner",
            Self::Publisher => "Publisher",
            Self::Placement => "Placement",
            Self::Country => "Country",
            Self::Currency => "Currency",
        }
    }

    /// Named after their columns.
    pub fn column(self) -> &'static str {
        self.name()
    }
}
