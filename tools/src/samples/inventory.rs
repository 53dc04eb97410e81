//! The inventory and demand of one tenant: publishers with their domains and
//! placements, demand partners, campaigns, viewers' countries and devices.
//! Built once per tenant from the run seed, shared by all its files, so ids
//! and users recur across formats and days as they would in real logs.

use super::rng::{Rng, Weighted, derive, fnv1a, mix};

pub const AD_FORMATS: [&str; 3] = ["banner", "video", "native"];
pub const BANNER: usize = 0;
pub const VIDEO: usize = 1;
pub const NATIVE: usize = 2;

const PUBLISHERS: u32 = 48;
const CAMPAIGNS_PER_PARTNER: u32 = 30;
const SITE_TOPICS: [&str; 12] = [
    "news", "sports", "weather", "recipes", "games", "finance", "travel", "tech", "movies", "music", "health", "autos",
];
const SITE_SUFFIXES: [&str; 4] = ["daily", "hub", "now", "world"];

#[derive(Debug)]
pub struct Publisher {
    pub id: u32,
    /// Site domain, or app bundle id for in-app inventory.
    pub domain: String,
    pub is_app: bool,
    pub placements: Weighted<Placement>,
}

#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub id: u32,
    /// Index into [`AD_FORMATS`]: a slot serves one format.
    pub format: usize,
}

#[derive(Debug)]
pub struct Partner {
    pub name: &'static str,
    /// Share of requests the partner fills.
    pub fill_permille: u64,
    /// Share of revenue the platform keeps; cost is the rest.
    pub margin_permille: i64,
    pub campaigns: Weighted<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Country {
    /// ISO 3166-1 alpha-2, empty when unknown.
    pub code: &'static str,
    /// Price level relative to the US, in percent.
    pub price_percent: i64,
}

pub struct Inventory {
    pub publishers: Weighted<Publisher>,
    pub partners: Weighted<Partner>,
    pub countries: Weighted<Country>,
    /// Devices of display inventory (banner, native) and of video inventory.
    display_devices: Weighted<&'static str>,
    video_devices: Weighted<&'static str>,
    /// Per-impression price multipliers in permille: a long right tail.
    price_multipliers: Weighted<i64>,
    /// Distinct viewers of the tenant; drawn with a skew towards low indices,
    /// so some come back often and most rarely.
    pub user_pool: u64,
    user_salt: u64,
}

/// A viewer: `index` counts distinct users, `id` is what the logs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub index: u32,
    pub id: u64,
}

impl Inventory {
    pub fn new(seed: u64, tenant: &str, user_pool: u64) -> Self {
        let mut rng = Rng::new(derive(seed, &[fnv1a(tenant), fnv1a("catalog")]));
        let mut next_placement = 1;
        let publishers = Weighted::zipf((1..=PUBLISHERS).map(|id| {
            let k = (id - 1) as usize;
            let (topic, suffix) = (SITE_TOPICS[k % SITE_TOPICS.len()], SITE_SUFFIXES[k / SITE_TOPICS.len()]);
            let is_app = rng.chance(250);
            let domain = if is_app { format!("com.{topic}{suffix}.app") } else { format!("{topic}-{suffix}.example") };
            let formats = Weighted::new([(BANNER, 55), (VIDEO, 25), (NATIVE, 20)]);
            let count = rng.between(2, 10) as u32;
            let placements = Weighted::zipf((0..count).map(|_| {
                let placement = Placement { id: next_placement, format: *formats.sample(&mut rng) };
                next_placement += 1;
                placement
            }));
            Publisher { id, domain, is_app, placements }
        }));
        let partners = Weighted::new(
            [
                ("google_adx", 300, 780, 200),
                ("rubicon", 200, 720, 180),
                ("appnexus", 150, 700, 170),
                ("pubmatic", 120, 680, 160),
                ("openx", 80, 650, 150),
                ("index", 70, 690, 160),
                ("triplelift", 40, 620, 220),
                ("amazon_tam", 40, 740, 150),
            ]
            .into_iter()
            .enumerate()
            .map(|(k, (name, weight, fill_permille, margin_permille))| {
                let first = k as u32 * 1000 + 1;
                let campaigns = Weighted::zipf(first..first + CAMPAIGNS_PER_PARTNER);
                (Partner { name, fill_permille, margin_permille, campaigns }, weight)
            }),
        );
        let countries = Weighted::new(
            [
                ("US", 340, 100),
                ("GB", 70, 80),
                ("DE", 65, 80),
                ("IN", 60, 15),
                ("FR", 50, 70),
                ("JP", 50, 75),
                ("BR", 45, 30),
                ("CA", 40, 85),
                ("AU", 30, 80),
                ("MX", 30, 30),
                ("ES", 25, 50),
                ("IT", 25, 50),
                ("ID", 25, 15),
                ("KR", 20, 60),
                ("NL", 15, 70),
                ("PL", 15, 35),
                ("TR", 15, 25),
                ("SE", 10, 70),
                ("ZA", 10, 25),
                ("", 20, 20),
            ]
            .map(|(code, weight, price_percent)| (Country { code, price_percent }, weight)),
        );
        Self {
            publishers,
            partners,
            countries,
            display_devices: Weighted::new([("mobile", 550), ("desktop", 350), ("tablet", 100)]),
            video_devices: Weighted::new([("mobile", 450), ("desktop", 250), ("ctv", 220), ("tablet", 80)]),
            price_multipliers: Weighted::new([
                (300, 5),
                (500, 12),
                (700, 18),
                (900, 20),
                (1100, 16),
                (1400, 12),
                (1800, 8),
                (2500, 5),
                (4000, 3),
                (7000, 1),
            ]),
            user_pool: user_pool.max(1),
            user_salt: mix(fnv1a(tenant) ^ seed),
        }
    }

    /// Device of a viewer of a `format` slot; apps are not seen on desktop.
    pub fn device(&self, format: usize, is_app: bool, rng: &mut Rng) -> &'static str {
        let devices = if format == VIDEO { &self.video_devices } else { &self.display_devices };
        match *devices.sample(rng) {
            "desktop" if is_app => "mobile",
            device => device,
        }
    }

    pub fn os(device: &str, rng: &mut Rng) -> &'static str {
        let choices: &[(&'static str, u64)] = match device {
            "mobile" => &[("android", 550), ("ios", 450)],
            "tablet" => &[("ios", 600), ("android", 400)],
            "desktop" => &[("windows", 650), ("macos", 300), ("linux", 50)],
            _ => &[("roku", 350), ("tvos", 200), ("tizen", 200), ("androidtv", 150), ("webos", 100)],
        };
        let total: u64 = choices.iter().map(|(_, weight)| weight).sum();
        let mut point = rng.below(total);
        for &(os, weight) in choices {
            if point < weight {
                return os;
            }
            point -= weight;
        }
        unreachable!("point is below the total weight")
    }

    /// A known viewer, or `None` for the share of traffic without an id
    /// (more of it on connected TVs, which often hide identifiers).
    pub fn user(&self, device: &str, rng: &mut Rng) -> Option<User> {
        let unknown_permille = if device == "ctv" { 300 } else { 80 };
        if rng.chance(unknown_permille) {
            return None;
        }
        // P(index < k) = sqrt(k / pool): a few heavy repeat visitors and a
        // long tail seen once. Products of floats are exactly rounded.
        let u = rng.unit();
        let index = ((u * u) * self.user_pool as f64) as u64;
        let index = index.min(self.user_pool - 1) as u32;
        Some(User { index, id: mix(u64::from(index) ^ self.user_salt) })
    }

    /// Revenue of one impression in micros: a CPM level per ad format, scaled
    /// by the country's price level and a long-tailed multiplier.
    pub fn price_micros(&self, format: usize, country: Country, rng: &mut Rng) -> i64 {
        // Per-impression micros equal the CPM in thousandths: $1.20 CPM = 1200.
        let base = [1_200, 9_000, 2_000][format];
        let multiplier = *self.price_multipliers.sample(rng);
        let jitter = rng.between(900, 1100) as i64;
        (base * country.price_percent * multiplier * jitter / 100_000_000).max(1)
    }
}
