// What the numbers must be, computed independently of the API: straight
// from raw `events` (not the rollups the API reads), with the metric
// formulas written out here again.

import type { ResolvedRange } from "../src/api";
import { rows } from "./clickhouse";

export interface RawFilter {
  dimension: string;
  values: string[];
}

export interface Expected {
  /** Money as exact micro-units, counts as integers, percents as the API's float formula. */
  [metric: string]: { micros: bigint } | { count: bigint } | { percent: number | null };
}

/** The six default tiles over `[from, to)` for `tenant`, with `IN` filters. */
export async function expectedTotals(database: string, tenant: string, range: ResolvedRange, filters: RawFilter[] = []): Promise<Expected> {
  const params: Record<string, string> = { db: database, tenant, from: range.from, to: range.to };
  const where = filters.map((filter, i) => {
    params[`values${i}`] = `[${filter.values.map((value) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`).join(",")}]`;
    // A column name from the API's catalog, checked before it enters the SQL.
    if (!/^[a-z_]+$/.test(filter.dimension)) throw new Error(`not a dimension: ${filter.dimension}`);
    return `AND has({values${i}:Array(String)}, toString(${filter.dimension}))`;
  });
  const [row] = await rows<Record<string, string>>(
    `SELECT countIf(event_type = 'request') AS requests, countIf(event_type = 'impression') AS impressions,
            countIf(event_type = 'click') AS clicks, countIf(event_type = 'video_start') AS starts,
            countIf(event_type = 'video_complete') AS completes, sum(revenue_micros) AS revenue
     FROM {db:Identifier}.events
     WHERE tenant = {tenant:String}
       AND ts >= parseDateTime64BestEffort({from:String}, 3) AND ts < parseDateTime64BestEffort({to:String}, 3)
       ${where.join("\n       ")}`,
    params,
  );
  const n = (name: string) => BigInt(row[name]);
  const ratio = (numerator: bigint, denominator: bigint) => (denominator === 0n ? null : (Number(numerator) * 100) / Number(denominator));
  return {
    impressions: { count: n("impressions") },
    revenue: { micros: n("revenue") },
    ecpm: { micros: n("impressions") === 0n ? -1n : divideRounded(n("revenue") * 1000n, n("impressions")) },
    fill_rate: { percent: ratio(n("impressions"), n("requests")) },
    ctr: { percent: ratio(n("clicks"), n("impressions")) },
    vtr: { percent: ratio(n("completes"), n("starts")) },
  };
}

/** Rounds half away from zero, as the API does for money ratios. */
function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  const abs = (value: bigint) => (value < 0n ? -value : value);
  if (2n * abs(remainder) >= abs(denominator)) return quotient + ((numerator < 0n) === (denominator < 0n) ? 1n : -1n);
  return quotient;
}

/** An API value in the form `expectedTotals` gives, for exact comparison. */
export function asExpected(metric: string, value: number | null): Expected[string] {
  if (metric === "revenue" || metric === "ecpm") return { micros: value === null ? -1n : BigInt(Math.round(value * 1_000_000)) };
  if (metric === "impressions") return { count: BigInt(value ?? -1) };
  return { percent: value };
}
