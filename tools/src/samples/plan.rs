//! Which files a run writes: one per tenant, format, day and file index,
//! each with its key, its own random stream and its window of the day.

use time::{Date, Duration};

use super::formats::ExampleSource;
use super::rng::{derive, fnv1a, mix};
use super::traffic::diurnal_offset_ms;

#[derive(Debug, Clone)]
pub struct FilePlan {
    pub tenant: String,
    pub format: ExampleSource,
    /// Index within the tenant's files of one format and day.
    pub index: u32,
    /// Key relative to the output directory or upload prefix.
    pub key: String,
    /// Seed of the file's own random streams: files are independent, so
    /// they can be written in any order and in parallel.
    pub seed: u64,
    /// Midnight of the file's day, Unix milliseconds.
    pub day_start_ms: i64,
    /// The file's lines are positions `first_line..first_line + rows` of the
    /// `day_lines` lines that this tenant's files of this format and day hold.
    pub first_line: u64,
    pub day_lines: u64,
    pub rows: u64,
}

impl FilePlan {
    /// Unix milliseconds of the opportunity that starts at data line `row`.
    pub fn line_start_ms(&self, row: u64) -> i64 {
        self.day_start_ms + diurnal_offset_ms(self.first_line + row, self.day_lines) as i64
    }
}

pub struct PlanParams<'a> {
    pub seed: u64,
    pub start: Date,
    pub days: u32,
    pub tenants: &'a [String],
    pub formats: &'a [ExampleSource],
    pub files: u32,
    pub rows_per_file: u64,
}

/// Every file of a run, in manifest order (tenant, format, day, index).
pub fn files(params: &PlanParams<'_>) -> Vec<FilePlan> {
    let day_lines = u64::from(params.files) * params.rows_per_file;
    let mut plans = Vec::new();
    for tenant in params.tenants {
        for &format in params.formats {
            for day_index in 0..params.days {
                let day = params.start + Duration::days(i64::from(day_index));
                let day_start_ms = day.midnight().assume_utc().unix_timestamp() * 1000;
                for index in 0..params.files {
                    let seed =
                        derive(params.seed, &[fnv1a(tenant), format as u64, u64::from(day_index), u64::from(index)]);
                    let first_line = u64::from(index) * params.rows_per_file;
                    let hour = (diurnal_offset_ms(first_line, day_lines) / 3_600_000) as u8;
                    plans.push(FilePlan {
                        tenant: tenant.clone(),
                        format,
                        index,
                        key: format.key(tenant, day, index, hour, mix(seed)),
                        seed,
                        day_start_ms,
                        first_line,
                        day_lines,
                        rows: params.rows_per_file,
                    });
                }
            }
        }
    }
    plans
}

/// The plans with every line from `until_ms` on left out: a file keeps the
/// lines that start before it (times grow with the line), and a file left
/// with none is dropped.
pub fn cut(plans: Vec<FilePlan>, until_ms: i64) -> Vec<FilePlan> {
    plans
        .into_iter()
        .filter_map(|mut plan| {
            let (mut kept, mut beyond) = (0, plan.rows);
            while kept < beyond {
                let middle = kept + (beyond - kept) / 2;
                if plan.line_start_ms(middle) < until_ms { kept = middle + 1 } else { beyond = middle }
            }
            plan.rows = kept;
            (kept > 0).then_some(plan)
        })
        .collect()
}
