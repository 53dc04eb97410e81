//! The oracle of the local fake platforms (`dev/fakeplatforms/`): exactly
//! what a fake serves, in the unified model, for tests to compare with what
//! a connector fetched or adhouse stored. Test support only (feature `fakes`).

use serde::Deserialize;
use time::Date;

use crate::model::{DailyRow, DateRange, Level, OrganicMeasures, PlatformId};

#[derive(Deserialize)]
struct Answer {
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    entity_id: String,
    entity_name: String,
    #[serde(with = "iso_date")]
    date: Date,
    impressions: u64,
    clicks: u64,
    spend_micros: i64,
    conversions_micros: i64,
    conversion_value_micros: i64,
    reach: u64,
    video_views: u64,
    /// The organic fakes' measures; absent in the ad platforms' oracles.
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default)]
    follows: u64,
    #[serde(default)]
    profile_views: u64,
    #[serde(default)]
    engagements: u64,
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// `GET <base_url>/_fake/<platform>/oracle` for `account` at `level` over
/// `range`, in [`comparable`] order.
pub async fn oracle(base_url: &str, platform: PlatformId, account: &str, level: Level, range: DateRange) -> Vec<DailyRow> {
    // Each fake names levels as its platform does (Meta: ad sets).
    let level_name = match (platform, level) {
        (PlatformId::Meta, Level::AdGroup) => "adset",
        _ => level.as_str(),
    };
    let url = format!("{base_url}/_fake/{platform}/oracle");
    let query = [("account", account), ("level", level_name), ("since", &range.since.to_string()), ("until", &range.until.to_string())];
    let answer = reqwest::Client::new().get(url).query(&query).send().await.expect("the fake answers");
    let answer: Answer = answer.json().await.expect("the oracle's rows");
    comparable(
        answer
            .rows
            .into_iter()
            .map(|r| DailyRow {
                level,
                entity_id: r.entity_id,
                entity_name: r.entity_name,
                date: r.date,
                impressions: r.impressions,
                clicks: r.clicks,
                spend_micros: r.spend_micros,
                conversions_micros: r.conversions_micros,
                conversion_value_micros: r.conversion_value_micros,
                reach: r.reach,
                video_views: r.video_views,
                organic: OrganicMeasures { followers: r.followers, follows: r.follows, profile_views: r.profile_views, engagements: r.engagements },
                extra: Default::default(),
            })
            .collect(),
    )
}

/// `rows` as the oracle has them: sorted by day and entity, without the
/// platform-specific `extra` measures (which the oracle does not carry).
pub fn comparable(mut rows: Vec<DailyRow>) -> Vec<DailyRow> {
    for row in &mut rows {
        row.extra.clear();
    }
    rows.sort_by(|a, b| (a.date, &a.entity_id).cmp(&(b.date, &b.entity_id)));
    rows
}

/// A user at a fake's consent page, as a browser: opens `authorize_url`,
/// submits its form as `user` with `decision` (`allow` or `deny`), and
/// returns where the fake sends the browser back (the callback with `code`
/// or the error).
pub async fn consent(authorize_url: &str, user: &str, decision: &str) -> reqwest::Url {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let page = browser.get(authorize_url).send().await.expect("the fake's consent page");
    assert_eq!(page.status(), 200, "{authorize_url}");
    let form = Form::parse(&page.text().await.expect("a page"));
    let mut fields = form.hidden;
    fields.push(("user".into(), user.into()));
    fields.push(("decision".into(), decision.into()));
    let action = reqwest::Url::parse(authorize_url).and_then(|url| url.join(&form.action)).expect("the form's action");
    let back = browser.post(action).form(&fields).send().await.expect("the consent form posts");
    assert_eq!(back.status(), 302, "{}", back.text().await.unwrap_or_default());
    reqwest::Url::parse(back.headers()["location"].to_str().expect("a location")).expect("an absolute callback")
}

/// The `code` of a callback URL.
pub fn code_of(callback: &reqwest::Url) -> String {
    callback.query_pairs().find(|(key, _)| key == "code").map(|(_, code)| code.into_owned()).unwrap_or_else(|| panic!("no code in {callback}"))
}

/// A consent page's form: where it posts and its hidden fields.
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

impl Form {
    fn parse(html: &str) -> Self {
        let attribute = |tag: &str, name: &str| -> Option<String> {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            let value = &tag[start..start + tag[start..].find('"')?];
            Some(value.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
        };
        let tags: Vec<&str> = html.split('<').collect();
        let form = tags.iter().find(|tag| tag.starts_with("form ")).unwrap_or_else(|| panic!("no form in {html}"));
        let hidden = tags
            .iter()
            .filter(|tag| tag.starts_with("input ") && tag.contains("type=\"hidden\""))
            .map(|tag| (attribute(tag, "name").expect("a named input"), attribute(tag, "value").unwrap_or_default()))
            .collect();
        Self { action: attribute(form, "action").expect("a form action"), hidden }
    }
}
