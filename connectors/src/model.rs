//! What every platform is turned into: accounts, credentials and daily rows
//! in one format.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformId {
    Meta,
    Google,
    /// Yahoo! JAPAN Ads: Search Ads and Display Ads, two account kinds.
    Yahoo,
    /// X (Twitter) Ads.
    X,
    /// Facebook Pages' organic insights (Meta's Graph API and login).
    Facebook,
    /// Instagram business accounts' organic insights (Meta's Graph API and login).
    Instagram,
}

impl PlatformId {
    pub const ALL: [PlatformId; 6] = [Self::Meta, Self::Google, Self::Yahoo, Self::X, Self::Facebook, Self::Instagram];

    /// The name in settings, URLs and the `platform` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Meta => "meta",
            Self::Google => "google",
            Self::Yahoo => "yahoo",
            Self::X => "x",
            Self::Facebook => "facebook",
            Self::Instagram => "instagram",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for PlatformId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The grain of a daily row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Account,
    Campaign,
    /// Meta's ad set, Google's ad group, X's line item.
    AdGroup,
    Ad,
}

impl Level {
    pub const ALL: [Level; 4] = [Self::Account, Self::Campaign, Self::AdGroup, Self::Ad];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Campaign => "campaign",
            Self::AdGroup => "ad_group",
            Self::Ad => "ad",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// An ad account as the platform describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The platform's id, without prefixes (Meta's `act_` is dropped, Google's
    /// customer id is digits only).
    pub id: String,
    /// The product the account belongs to where one login reaches several
    /// with their own accounts and APIs (Yahoo! JAPAN: `search`, `display`);
    /// empty otherwise.
    #[serde(default)]
    pub kind: String,
    pub name: String,
    /// ISO 4217 code; all money of the account is in it.
    pub currency: String,
    /// IANA name; the account's days are local days of this zone.
    pub timezone: String,
    /// The manager account through which it is reached: Google's
    /// `login-customer-id`, Yahoo! JAPAN's `x-z-base-account-id` (an MCC);
    /// empty when reached directly.
    pub manager_id: String,
    /// Whether the platform says the account can serve and report.
    pub active: bool,
}

/// What a grant gives: an access token, maybe a refresh token, and when the
/// access token expires; with OAuth 1.0a (X) the token and its secret, which
/// sign every request. Never logged: `Debug` shows no token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub access_token: String,
    /// Empty when the platform has none (Meta's long-lived tokens).
    pub refresh_token: String,
    /// Unix seconds; 0 when the platform gave no expiry.
    pub expires_at: i64,
    /// OAuth 1.0a's `oauth_token_secret` (RFC 5849 §2.3); empty for OAuth
    /// 2.0 (and in values sealed before X existed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_secret: String,
}

impl Credentials {
    /// OAuth 2.0 credentials: no token secret.
    pub fn bearer(access_token: String, refresh_token: String, expires_at: i64) -> Self {
        Self { access_token, refresh_token, expires_at, token_secret: String::new() }
    }
}

impl Credentials {
    /// When the grant ends and the user must link again: the access token's
    /// expiry when there is no refresh token to renew it (Meta's long-lived
    /// tokens); `None` when it renews itself or never ends.
    pub fn grant_ends_at(&self) -> Option<i64> {
        (self.refresh_token.is_empty() && self.expires_at > 0).then_some(self.expires_at)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// The account-local day of `now` in `timezone` (an IANA name from the
/// platform; UTC if the name is unknown to the bundled tz database).
pub fn local_today(timezone: &str, now: jiff::Timestamp) -> Date {
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or_else(|_| {
        tracing::warn!(timezone, "account timezone unknown to the tz database; taking UTC days");
        jiff::tz::TimeZone::UTC
    });
    let date = now.to_zoned(zone).date();
    let month = time::Month::try_from(date.month() as u8).expect("jiff months are 1 to 12");
    Date::from_calendar_date(i32::from(date.year()), month, date.day() as u8).expect("jiff dates are valid dates")
}

/// Inclusive range of account-local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub since: Date,
    pub until: Date,
}

impl DateRange {
    pub fn days(self) -> i64 {
        (self.until - self.since).whole_days() + 1
    }

    /// The range cut into consecutive windows of at most `days` days.
    pub fn windows(self, days: i64) -> Vec<DateRange> {
        let mut out = Vec::new();
        let mut since = self.since;
        while since <= self.until {
            let until = (since + time::Duration::days(days.max(1) - 1)).min(self.until);
            out.push(DateRange { since, until });
            match until.next_day() {
                Some(next) => since = next,
                None => break,
            }
        }
        out
    }

    /// The range cut in two halves (the first one longer); `None` for one day.
    pub fn halves(self) -> Option<(DateRange, DateRange)> {
        let days = self.days();
        if days < 2 {
            return None;
        }
        let first_until = self.since + time::Duration::days((days + 1) / 2 - 1);
        let second_since = first_until.next_day()?;
        Some((DateRange { since: self.since, until: first_until }, DateRange { since: second_since, until: self.until }))
    }
}

/// One entity's numbers for one account-local day, in the unified format.
/// Money is integer micros of the account currency; counts are exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyRow {
    pub level: Level,
    /// Campaign, ad group or ad id; the account id at account level.
    pub entity_id: String,
    pub entity_name: String,
    pub date: Date,
    pub impressions: u64,
    pub clicks: u64,
    pub spend_micros: i64,
    /// Conversions in millionths (platforms report fractional conversions).
    pub conversions_micros: i64,
    pub conversion_value_micros: i64,
    pub reach: u64,
    pub video_views: u64,
    /// The organic measures of Pages and Instagram accounts; zero (and no
    /// followers) for ad platforms.
    pub organic: OrganicMeasures,
    /// Platform-specific measures under the platform's own names, exact
    /// decimal text as the platform sent it.
    pub extra: BTreeMap<String, String>,
}

impl DailyRow {
    /// `entity_id`'s `date` at `level` with nothing in it: every measure
    /// zero, no followers (a gauge's missing day stays missing), no `extra`.
    pub fn empty(level: Level, entity_id: String, entity_name: String, date: Date) -> Self {
        Self {
            level,
            entity_id,
            entity_name,
            date,
            impressions: 0,
            clicks: 0,
            spend_micros: 0,
            conversions_micros: 0,
            conversion_value_micros: 0,
            reach: 0,
            video_views: 0,
            organic: OrganicMeasures::default(),
            extra: BTreeMap::new(),
        }
    }
}

/// What organic insights add to a day. `followers` is a gauge: the audience
/// at the end of the day, never summed over days; `None` where the platform
/// gives no value for the day (Instagram keeps no follower history).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganicMeasures {
    pub followers: Option<u64>,
    /// New followers that day (a sum).
    pub follows: u64,
    /// Visits of the Page or the Instagram profile.
    pub profile_views: u64,
    /// Reactions, comments, shares, saves and clicks on the content.
    pub engagements: u64,
}

/// What one `fetch_daily` call brings: the rows, and what the account's
/// owner should know about them (metrics the platform no longer serves and
/// that were left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Daily {
    pub rows: Vec<DailyRow>,
    pub warnings: Vec<String>,
}

impl From<Vec<DailyRow>> for Daily {
    fn from(rows: Vec<DailyRow>) -> Self {
        Self { rows, warnings: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_local_day_is_the_accounts_own() {
        // 2026-12-01 03:00 UTC is still November 30th in Los Angeles and
        // already the 1st in Tokyo.
        let now: jiff::Timestamp = "2026-12-01T03:00:00Z".parse().unwrap();
        assert_eq!(local_today("America/Los_Angeles", now), date!(2026 - 11 - 30));
        assert_eq!(local_today("Asia/Tokyo", now), date!(2026 - 12 - 01));
        assert_eq!(local_today("Not/AZone", now), date!(2026 - 12 - 01));
    }
}
