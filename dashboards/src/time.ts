// Date ranges and the granularities that make sense for them. The API
// resolves presets itself (in the request's timezone, at its own clock); the
// dashboard only needs each range's length to offer valid granularities.

export interface Preset {
  name: string;
  label: string;
  /** Longest length in days, so a granularity offered is never refused. */
  maxDays: number;
  /** Still running: compared with the same elapsed part of the previous period. */
  running?: boolean;
}

// "Last N days" are whole days ending yesterday (as ad platforms count them),
// so that an unfinished today never reads as a drop.
export const PRESETS: Preset[] = [
  { name: "today", label: "Today so far", maxDays: 1, running: true },
  { name: "yesterday", label: "Yesterday", maxDays: 1 },
  { name: "last_7_days", label: "Last 7 days (to yesterday)", maxDays: 7 },
  { name: "last_30_days", label: "Last 30 days (to yesterday)", maxDays: 30 },
  { name: "last_90_days", label: "Last 90 days (to yesterday)", maxDays: 90 },
  { name: "this_month", label: "This month so far", maxDays: 31, running: true },
  { name: "last_month", label: "Last month", maxDays: 31 },
  { name: "this_year", label: "This year so far", maxDays: 366, running: true },
  { name: "last_year", label: "Last year", maxDays: 366 },
  { name: "last_3_years", label: "Last 3 years", maxDays: 1096 },
];

/** Whether `range` is still running, so that comparisons stop at the same point of the previous period. */
export function isRunning(range: Range): boolean {
  return "preset" in range && PRESETS.some((preset) => preset.name === range.preset && preset.running === true);
}

export type Range = { preset: string } | { from: string; to: string };

/** Nominal bucket lengths in days (the longest month, quarter and year). */
const BUCKET_DAYS: Record<string, number> = {
  minute: 1 / 1440,
  hour: 1 / 24,
  day: 1,
  week: 7,
  month: 31,
  quarter: 92,
  year: 366,
};

export const GRANULARITY_LABELS: Record<string, string> = {
  minute: "Minute",
  hour: "Hour",
  day: "Day",
  week: "Week",
  month: "Month",
  quarter: "Quarter",
  year: "Year",
};

/** Days covered by a range; custom ranges are whole dates with `to` included. */
export function rangeDays(range: Range): number {
  if ("preset" in range) return PRESETS.find((preset) => preset.name === range.preset)?.maxDays ?? 1;
  const from = Date.parse(range.from + "T00:00:00Z");
  const to = Date.parse(range.to + "T00:00:00Z");
  if (Number.isNaN(from) || Number.isNaN(to) || to < from) return 1;
  return Math.round((to - from) / 86_400_000) + 1;
}

/**
 * Granularities for a chart over `days`: the API allows them for that length
 * (`max_range_days` from the catalog) and they give more than one bar.
 */
export function validGranularities(days: number, maxRangeDays: Record<string, number>): string[] {
  return Object.keys(BUCKET_DAYS).filter((name) => {
    const max = maxRangeDays[name];
    return max !== undefined && days <= max && BUCKET_DAYS[name] < days;
  });
}

/** The granularity a range opens with: hours for a day, days up to a quarter, then weeks. */
export function defaultGranularity(days: number, valid: string[]): string {
  const preferred = days <= 2 ? "hour" : days <= 92 ? "day" : "week";
  return valid.includes(preferred) ? preferred : (valid[0] ?? "day");
}

/** `YYYY-MM-DD` of a date plus `days`, in plain calendar arithmetic. */
export function addDays(date: string, days: number): string {
  const at = new Date(Date.parse(date + "T00:00:00Z") + days * 86_400_000);
  return at.toISOString().slice(0, 10);
}

/** Today's date in `timezone` (the browser's when null). */
export function today(timezone: string | null, now = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone ?? undefined,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(now);
  return parts.slice(0, 10);
}

export function isDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text + "T00:00:00Z"));
}
