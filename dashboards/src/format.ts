// How values read: one function per unit, used by tiles, chart, table and the
// tests alike, so what a test expects is what a person sees.

import type { MetricValue, Unit } from "./api";

/** Metrics where a rise is bad news; every other metric is better higher. */
const UP_IS_BAD = new Set(["errors", "error_rate", "cost", "cpc", "cpm", "cpa"]);

export function upIsGood(metric: string): boolean {
  return !UP_IS_BAD.has(metric);
}

const counts = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compactCounts = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const decimals = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const currencies = new Map<string, Intl.NumberFormat>();

function currencyFormat(currency: string, compact: boolean): Intl.NumberFormat {
  const key = `${currency}:${compact}`;
  let format = currencies.get(key);
  if (!format) {
    format = new Intl.NumberFormat("en-US", {
      style: "currency",
      currency,
      ...(compact ? { notation: "compact", maximumFractionDigits: 1 } : {}),
    });
    currencies.set(key, format);
  }
  return format;
}

/** A metric value as shown in tiles and table cells; null (ratio over zero) is an em dash. */
export function formatValue(value: MetricValue, unit: Unit, currency: string): string {
  if (value === null || value === undefined) return "—";
  switch (unit) {
    case "count":
      return counts.format(value);
    case "currency":
      return currencyFormat(currency, false).format(value);
    case "percent":
      return `${value.toFixed(2)} %`;
    case "decimal":
      return decimals.format(value);
    case "ratio":
      return `${value.toFixed(2)}×`;
  }
}

/** Short axis labels: 1.2M, $3.4K, 12 %. */
export function formatAxis(value: number, unit: Unit, currency: string): string {
  switch (unit) {
    case "count":
      return compactCounts.format(value);
    case "currency":
      return currencyFormat(currency, true).format(value);
    case "percent":
      return `${Number(value.toFixed(2))} %`;
    case "decimal":
      return compactCounts.format(value);
    case "ratio":
      return `${Number(value.toFixed(2))}×`;
  }
}

export interface ChangeView {
  /** ▲, ▼ or – (no change, or nothing to compare with). */
  arrow: string;
  text: string;
  /** good: green; bad: red; flat: neutral. */
  tone: "good" | "bad" | "flat";
  description: string;
}

/** A change in percent (null when the comparison value was zero or missing). */
export function formatChange(metric: string, percent: number | null | undefined): ChangeView {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) {
    return { arrow: "", text: "no previous data", tone: "flat", description: "no comparison value" };
  }
  const rounded = Math.abs(percent) < 0.05 ? 0 : percent;
  if (rounded === 0) return { arrow: "–", text: "0.0 %", tone: "flat", description: "unchanged" };
  const up = rounded > 0;
  const text = `${Math.abs(rounded).toFixed(1)} %`;
  return {
    arrow: up ? "▲" : "▼",
    text,
    tone: up === upIsGood(metric) ? "good" : "bad",
    description: `${up ? "up" : "down"} ${text}`,
  };
}

/** A bucket start (RFC 3339 with the query's own offset) as a label in that timezone. */
export function formatBucket(rfc3339: string, granularity: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(rfc3339);
  if (!match) return rfc3339;
  const [, year, month, day, hour, minute] = match;
  const monthName = MONTHS[Number(month) - 1];
  switch (granularity) {
    case "minute":
    case "hour":
      return `${monthName} ${Number(day)} ${hour}:${minute}`;
    case "month":
      return `${monthName} ${year}`;
    case "quarter":
      return `Q${Math.floor((Number(month) - 1) / 3) + 1} ${year}`;
    case "year":
      return year;
    default:
      return `${monthName} ${Number(day)}, ${year}`;
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `2026-05-10T00:00:00+02:00` → `May 10, 2026`, for range captions. */
export function formatDay(rfc3339: string): string {
  return formatBucket(rfc3339, "day");
}

/** What "(empty)" stands for, told where it is shown. */
export const EMPTY_MEANS = "The log lines had no value for this field (or the source does not record it)";
