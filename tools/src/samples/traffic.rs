//! The event stream: ad opportunities, each a request followed by what it led
//! to (impression, video progress, click, VAST error), at times that follow a
//! diurnal curve.
//!
//! A file is a window of one day's traffic: its lines take consecutive
//! positions in the day's volume, and a position maps to a time through the
//! inverse of the cumulative hourly volume, so files are shorter in time at
//! the evening peak, as size-rotated logs are. A chain's events follow each
//! other in the file; a file may end inside a chain, which leaves a prefix of
//! it, so every funnel stays monotone (requests ≥ impressions, video_start ≥
//! first_quartile ≥ … ≥ complete).

use std::collections::VecDeque;

use adhouse_core::event::EventType;

use super::inventory::{AD_FORMATS, Inventory, Country, Placement, Publisher, User, VIDEO};
use super::rng::Rng;

const HOUR_MS: u64 = 3_600_000;

/// Relative volume per UTC hour of the day.
const HOURLY_VOLUME: [u64; 24] =
    [30, 24, 20, 17, 16, 18, 24, 34, 46, 56, 62, 66, 68, 67, 66, 66, 68, 72, 78, 84, 82, 70, 54, 40];

/// Milliseconds after midnight of the `position`-th of `total` equally
/// spaced points of a day's volume. Integer arithmetic, so exact everywhere.
pub fn diurnal_offset_ms(position: u64, total: u64) -> u64 {
    let volume: u64 = HOURLY_VOLUME.iter().sum();
    let mut point = u128::from(position) * u128::from(volume) * u128::from(HOUR_MS) / u128::from(total.max(1));
    for (hour, &weight) in HOURLY_VOLUME.iter().enumerate() {
        let span = u128::from(weight) * u128::from(HOUR_MS);
        if point < span {
            return hour as u64 * HOUR_MS + (point / u128::from(weight)) as u64;
        }
        point -= span;
    }
    24 * HOUR_MS - 1
}

/// One generated event, with the ids the formats render.
#[derive(Debug, Clone)]
pub struct SampleEvent<'c> {
    pub ts_ms: i64,
    pub kind: EventType,
    pub publisher: &'c Publisher,
    pub placement: Placement,
    pub partner: &'static str,
    /// Campaign and creative are known once the request is filled.
    pub campaign: Option<u32>,
    pub creative: Option<u32>,
    pub country: Country,
    pub device: &'static str,
    pub os: &'static str,
    pub user: Option<User>,
    pub revenue_micros: i64,
    pub cost_micros: i64,
    pub error_code: u16,
}

impl SampleEvent<'_> {
    pub fn ad_format(&self) -> &'static str {
        AD_FORMATS[self.placement.format]
    }
}

pub struct Traffic<'c> {
    inventory: &'c Inventory,
    rng: Rng,
    pending: VecDeque<SampleEvent<'c>>,
}

impl<'c> Traffic<'c> {
    pub fn new(inventory: &'c Inventory, rng: Rng) -> Self {
        Self { inventory, rng, pending: VecDeque::new() }
    }

    /// The next event of the stream; a new opportunity starts at `ts_ms`
    /// when the previous one is used up.
    pub fn next_event(&mut self, ts_ms: i64) -> SampleEvent<'c> {
        if self.pending.is_empty() {
            self.opportunity(ts_ms);
        }
        self.pending.pop_front().expect("an opportunity yields at least its request")
    }

    /// An impression outside every chain, for a line that is then corrupted:
    /// a malformed line must not take an event out of a funnel.
    pub fn stray_impression(&mut self, ts_ms: i64) -> SampleEvent<'c> {
        let mut request = self.request(ts_ms);
        self.fill(&mut request, ts_ms);
        request
    }

    fn request(&mut self, ts_ms: i64) -> SampleEvent<'c> {
        let rng = &mut self.rng;
        let publisher = self.inventory.publishers.sample(rng);
        let placement = *publisher.placements.sample(rng);
        let device = self.inventory.device(placement.format, publisher.is_app, rng);
        SampleEvent {
            ts_ms: ts_ms + rng.below(1000) as i64,
            kind: EventType::Request,
            publisher,
            placement,
            partner: self.inventory.partners.sample(rng).name,
            campaign: None,
            creative: None,
            country: *self.inventory.countries.sample(rng),
            device,
            os: Inventory::os(device, rng),
            user: self.inventory.user(device, rng),
            revenue_micros: 0,
            cost_micros: 0,
            error_code: 0,
        }
    }

    /// Turns a request into its impression: campaign, creative and money.
    fn fill(&mut self, event: &mut SampleEvent<'c>, request_ms: i64) {
        let rng = &mut self.rng;
        let partner = partner(self.inventory, event.partner);
        let campaign = *partner.campaigns.sample(rng);
        let revenue = self.inventory.price_micros(event.placement.format, event.country, rng);
        event.kind = EventType::Impression;
        event.ts_ms = request_ms + rng.between(50, 400) as i64;
        event.campaign = Some(campaign);
        event.creative = Some(campaign * 10 + event.placement.format as u32 * 3 + rng.below(3) as u32);
        event.revenue_micros = revenue;
        event.cost_micros = revenue * (1000 - partner.margin_permille) / 1000;
    }

    fn opportunity(&mut self, ts_ms: i64) {
        let request = self.request(ts_ms);
        let is_video = request.placement.format == VIDEO;
        let fill_permille = partner(self.inventory, request.partner).fill_permille - if is_video { 80 } else { 0 };
        self.pending.push_back(request.clone());
        if !self.rng.chance(fill_permille) {
            // Unfilled video: the player reports "no ads" (303) or a timeout (301).
            if is_video && self.rng.chance(500) {
                let code = if self.rng.chance(800) { 303 } else { 301 };
                let at = request.ts_ms + self.rng.between(100, 3000) as i64;
                self.push_follow_up(&request, EventType::Error, at, code);
            }
            return;
        }
        let mut impression = request.clone();
        self.fill(&mut impression, request.ts_ms);
        self.pending.push_back(impression.clone());
        let mut last_ms = impression.ts_ms;
        if is_video {
            // Playback failures: general linear error, media timeout, unplayable media.
            let failure = match self.rng.below(1000) {
                0..20 => Some(402),
                20..40 => Some(400),
                40..50 => Some(405),
                _ => None,
            };
            if let Some(code) = failure {
                let at = last_ms + self.rng.between(200, 2000) as i64;
                self.push_follow_up(&impression, EventType::Error, at, code);
                return;
            }
            let quarter_ms = if self.rng.chance(600) { 3_750 } else { 7_500 };
            let steps = [
                (EventType::VideoStart, 950, self.rng.between(300, 1500) as i64),
                (EventType::VideoFirstQuartile, 900, quarter_ms),
                (EventType::VideoMidpoint, 930, quarter_ms),
                (EventType::VideoThirdQuartile, 940, quarter_ms),
                (EventType::VideoComplete, 930, quarter_ms),
            ];
            for (kind, permille, delay_ms) in steps {
                if !self.rng.chance(permille) {
                    break;
                }
                last_ms += delay_ms;
                self.push_follow_up(&impression, kind, last_ms, 0);
            }
        }
        let click_permille = match impression.placement.format {
            VIDEO => 12,
            super::inventory::NATIVE => 15,
            _ => 6,
        };
        if self.rng.chance(click_permille) {
            let at = impression.ts_ms + self.rng.between(1_000, 30_000) as i64;
            self.push_follow_up(&impression, EventType::Click, at, 0);
        }
    }

    /// An event of the same opportunity: same ids, no money.
    fn push_follow_up(&mut self, cause: &SampleEvent<'c>, kind: EventType, ts_ms: i64, error_code: u16) {
        self.pending.push_back(SampleEvent {
            ts_ms,
            kind,
            revenue_micros: 0,
            cost_micros: 0,
            error_code,
            ..cause.clone()
        });
    }
}

fn partner<'c>(inventory: &'c Inventory, name: &str) -> &'c super::inventory::Partner {
    inventory.partners.items().iter().find(|partner| partner.name == name).expect("partner of the inventory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_offsets_are_monotone_and_within_the_day() {
        let total = 10_000;
        let offsets: Vec<u64> = (0..total).map(|position| diurnal_offset_ms(position, total)).collect();
        assert!(offsets.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(offsets[0], 0);
        assert!(*offsets.last().unwrap() < 24 * HOUR_MS);
    }

    #[test]
    fn evening_peak_has_more_events_than_the_night() {
        let total = 100_000;
        let in_hour =
            |hour: u64| (0..total).filter(|&position| diurnal_offset_ms(position, total) / HOUR_MS == hour).count();
        assert!(in_hour(19) > 4 * in_hour(4));
    }

    #[test]
    fn funnels_are_monotone_and_money_is_only_on_impressions() {
        let inventory = Inventory::new(3, "acme", 1000);
        let mut traffic = Traffic::new(&inventory, Rng::new(9));
        let mut counts = std::collections::HashMap::new();
        for _ in 0..50_000 {
            let event = traffic.next_event(0);
            *counts.entry(event.kind).or_insert(0u64) += 1;
            if event.kind != EventType::Impression {
                assert_eq!((event.revenue_micros, event.cost_micros), (0, 0));
            } else {
                assert!(event.revenue_micros > event.cost_micros && event.cost_micros > 0);
            }
        }
        let count = |kind| counts.get(&kind).copied().unwrap_or(0);
        let fill = count(EventType::Impression) as f64 / count(EventType::Request) as f64;
        assert!((0.6..0.8).contains(&fill), "fill rate {fill}");
        let ctr = count(EventType::Click) as f64 / count(EventType::Impression) as f64;
        assert!((0.005..0.02).contains(&ctr), "click rate {ctr}");
        let funnel = [
            EventType::VideoStart,
            EventType::VideoFirstQuartile,
            EventType::VideoMidpoint,
            EventType::VideoThirdQuartile,
            EventType::VideoComplete,
        ]
        .map(count);
        assert!(funnel.windows(2).all(|pair| pair[0] >= pair[1]) && funnel[4] > 0, "{funnel:?}");
        assert!(count(EventType::Error) > 0);
    }
}
