//! Deterministic randomness: the same seed gives the same bytes on every
//! platform, so sampling uses integer arithmetic and exactly rounded float
//! multiplications only (no `ln`/`pow`, whose last bit varies between libms).

/// SplitMix64's finaliser: a bijection on `u64`, so distinct inputs (user
/// indices, say) stay distinct after mixing.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed of one independent stream, derived from the run seed and a path of
/// labels (tenant, format, day, file).
pub fn derive(seed: u64, labels: &[u64]) -> u64 {
    labels.iter().fold(mix(seed ^ 0x6164_686F_7573_6521), |acc, &label| mix(acc ^ mix(label)))
}

/// FNV-1a: a stable hash of a name (std's hashers are randomised per process).
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is far below what sample
    /// data can show.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A discrete distribution over `T` with integer weights, sampled by binary
/// search over the cumulative weights.
#[derive(Debug, Clone)]
pub struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<u64>,
}

impl<T> Weighted<T> {
    /// Panics on an empty table or a zero total: tables are built in code.
    pub fn new(pairs: impl IntoIterator<Item = (T, u64)>) -> Self {
        let mut items = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0;
        for (item, weight) in pairs {
            total += weight;
            items.push(item);
            cumulative.push(total);
        }
        assert!(total > 0, "a weighted table needs a positive total weight");
        Self { items, cumulative }
    }

    /// Zipf-like (s = 1) weights over `items` in order: the first is the most
    /// frequent, the k-th has weight 1/k.
    pub fn zipf(items: impl IntoIterator<Item = T>) -> Self {
        Self::new(items.into_iter().enumerate().map(|(k, item)| (item, 1_000_000 / (k as u64 + 1))))
    }

    pub fn sample(&self, rng: &mut Rng) -> &T {
        let total = *self.cumulative.last().expect("non-empty table");
        let point = rng.below(total);
        &self.items[self.cumulative.partition_point(|&cumulative| cumulative <= point)]
    }

    pub fn items(&self) -> &[T] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_sampling_follows_the_weights() {
        let table = Weighted::new([("rare", 1), ("common", 9)]);
        let mut rng = Rng::new(7);
        let common = (0..10_000).filter(|_| *table.sample(&mut rng) == "common").count();
        assert!((8_800..9_200).contains(&common), "{common}");
    }

    #[test]
    fn zero_weight_items_are_never_drawn() {
        let table = Weighted::new([("never", 0), ("always", 3)]);
        let mut rng = Rng::new(1);
        assert!((0..1_000).all(|_| *table.sample(&mut rng) == "always"));
    }
}
