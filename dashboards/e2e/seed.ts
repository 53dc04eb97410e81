// Test data: ad events generated inside ClickHouse (INSERT ... SELECT over
// numbers()), spread over the 45 days before the seeding instant and over
// the same days a year earlier (for the previous-year comparison). The
// rollups fill through the materialized views, as with real ingestion.
// Every column derives from a hash of the row number, so two runs seeded at
// the same instant hold the same rows.

import { clickhouse } from "./clickhouse";

export const SOURCES = ["adserver-jsonl", "cdn-w3c", "vast-tsv"];
export const RECENT_DAYS = 45;

export interface SeedPlan {
  tenant: string;
  /** Rows in the recent window (45 days up to now). */
  recent: number;
  /** Rows in the same window a year earlier. */
  yearAgo: number;
  salt: number;
}

const pick = (values: string[], salt: number) =>
  `arrayElement([${values.map((value) => `'${value}'`).join(", ")}], 1 + cityHash64(number, ${salt}) % ${values.length})`;

/** Inserts one tenant's events; returns when the insert (and so the rollups) is complete. */
export async function seed(database: string, plan: SeedPlan): Promise<void> {
  const s = plan.salt;
  // Event mix per 100 rows: 45 requests, 30 impressions, 3 clicks, 6 video
  // starts, 4/3/2 quartiles, 2 completes, 2 errors, 3 more requests.
  const eventType = `multiIf(k < 45, 'request', k < 75, 'impression', k < 78, 'click', k < 84, 'video_start',
      k < 88, 'video_first_quartile', k < 91, 'video_midpoint', k < 93, 'video_third_quartile',
      k < 95, 'video_complete', k < 97, 'error', 'request')`;
  const sql = `
    INSERT INTO {db:Identifier}.events
      (tenant, ts, event_type, publisher_id, placement_id, demand_partner, campaign_id, creative_id, ad_format,
       country, device_type, os, domain, user_id_hash, revenue_micros, cost_micros, error_code, source, file, line)
    SELECT
      {tenant:String},
      toDateTime64(if(number < {recent:UInt64}, {now:UInt32}, {now:UInt32} - 365 * 86400)
                   - cityHash64(number, ${s}) % (${RECENT_DAYS} * 86400), 3, 'UTC'),
      ${eventType},
      publisher, concat(publisher, '/', ${pick(["top", "sidebar", "footer", "preroll"], s + 4)}),
      ${pick(["magnite", "pubmatic", "openx", "index", "xandr"], s + 5)},
      ${pick(["cmp-spring", "cmp-summer", "cmp-brand", ""], s + 6)},
      concat('cr-', toString(cityHash64(number, ${s + 7}) % 40)),
      ${pick(["banner", "video", "native"], s + 8)},
      ${pick(["US", "DE", "GB", "FR", "JP", "BR", "CA", "IN"], s + 9)},
      ${pick(["desktop", "mobile", "tablet", "ctv"], s + 10)},
      ${pick(["ios", "android", "windows", "macos", "linux"], s + 11)},
      concat(publisher, '.example'),
      1 + cityHash64(number, ${s + 12}) % 5000,
      if(k >= 45 AND k < 75, 200 + cityHash64(number, ${s + 13}) % 4800, 0),
      if(k >= 45 AND k < 75, (200 + cityHash64(number, ${s + 13}) % 4800) * 7 DIV 10, 0),
      if(k >= 95 AND k < 97, 400 + cityHash64(number, ${s + 14}) % 5, 0),
      ${pick(SOURCES, s + 15)},
      concat('s3://adhouse-logs/e2e/', {tenant:String}, '/', toString(number % 10), '.jsonl'),
      number + 1
    FROM (
      SELECT number, cityHash64(number, ${s + 2}) % 100 AS k, ${pick(["dailynews", "sportsnow", "techbeat", "recipebox", "travelhub", "gamezone"], s + 3)} AS publisher
      FROM numbers({total:UInt64})
    )`;
  await clickhouse(sql, {
    db: database,
    tenant: plan.tenant,
    recent: plan.recent,
    total: plan.recent + plan.yearAgo,
    now: Math.floor(Date.now() / 1000),
  });
}
