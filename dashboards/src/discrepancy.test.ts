import { describe, expect, test } from "vitest";

import type { FeedHealth, PartnerDiscrepancy } from "./api";
import { discrepancyRequest } from "./requests";
import { changeState, defaultState, parseState, serializeState } from "./state";
import { dataAsOf, differenceClass, differenceText, formatPercent, freshnessText, rowLabel, truncatedText } from "./views/discrepancy";

const feed = (name: string, last_success_at: string | null): FeedHealth => ({
  feed: name,
  status: last_success_at ? "ok" : "failing",
  last_attempt_at: "2026-12-01T12:00:00Z",
  last_success_at,
  last_error: "",
  consecutive_failures: 0,
  rows_stored: 1,
  rows_quarantined: 0,
});

describe("the discrepancy report", () => {
  test("its view is in the URL and leaves when a source or an account is picked", () => {
    const state = { ...defaultState(), discrepancy: true };
    expect(serializeState(state)).toBe("view=discrepancy");
    expect(parseState("?view=discrepancy").discrepancy).toBe(true);
    const catalog = { metrics: [], dimensions: [], granularities: [], datasets: { logs: { metrics: [], dimensions: [] }, platforms: { metrics: [], dimensions: [] } } };
    expect(changeState(state, { source: "cdn-w3c" }, catalog).discrepancy).toBe(false);
    expect(changeState(state, { scope: { currency: "EUR" } }, catalog).discrepancy).toBe(false);
    expect(changeState(state, { range: { preset: "last_30_days" } }, catalog).discrepancy).toBe(true);
  });

  test("the report is asked by day at finest, which daily feeds can answer", () => {
    expect(discrepancyRequest(defaultState(), "minute").granularity).toBe("day");
    expect(discrepancyRequest(defaultState(), "hour").granularity).toBe("day");
    expect(discrepancyRequest(defaultState(), "week").granularity).toBe("week");
    expect(discrepancyRequest(defaultState(), "day")).toEqual({ time_range: { preset: "last_7_days" }, granularity: "day", threshold_percent: 5 });
  });

  test("differences are coloured against the threshold, and nothing to compare is neither", () => {
    expect(differenceClass({ absolute: -6, percent: -6 }, 5)).toBe("over");
    expect(differenceClass({ absolute: 5, percent: 5 }, 5)).toBe("within");
    expect(differenceClass({ absolute: null, percent: null }, 5)).toBe("none");
    expect([formatPercent(1.234), formatPercent(-5), formatPercent(null)]).toEqual(["+1.23 %", "-5.00 %", "—"]);
  });

  test("what the partner reports and the logs lack entirely is flagged, in words", () => {
    const missing = { absolute: 10_000, percent: null };
    expect([differenceClass(missing, 5), differenceText(missing)]).toEqual(["over", "Not in our logs"]);
    expect(differenceText({ absolute: -6, percent: -100 })).toBe("-100.00 %");
    expect([differenceClass({ absolute: 0, percent: null }, 5), differenceText({ absolute: 0, percent: null })]).toEqual(["none", "—"]);
  });

  test("a partner reported by two feeds shows each feed's name; one reported by one feed or none, its name alone", () => {
    const counted = { impressions: 0, revenue: 0 };
    const zero = { absolute: 0, percent: null };
    const totals = { ours: counted, theirs: counted, difference: { impressions: zero, revenue: zero }, flagged: false };
    const row = (partner: string, feed: string | null): PartnerDiscrepancy => ({ partner, feed, currencies: ["USD"], revenue_comparable: true, totals, periods: [] });
    const rows = [row("appnexus", "appnexus_v1"), row("appnexus", "appnexus_v2"), row("openx", "mediation"), row("rubicon", null)];
    expect(rows.map((r) => rowLabel(r, rows))).toEqual(["appnexus (appnexus_v1)", "appnexus (appnexus_v2)", "openx", "rubicon"]);
  });

  test("a report left short of some partners says so", () => {
    expect(truncatedText(50)).toBe(
      "Only the 50 partners with the most impressions are shown; others with impressions in this period are left out.",
    );
  });

  test("data is as of the oldest feed's last success", () => {
    const feeds = [feed("a", "2026-12-01T12:04:00Z"), feed("b", "2026-12-01T11:58:00Z")];
    expect(dataAsOf(feeds)).toBe("2026-12-01T11:58:00Z");
    expect(freshnessText(feeds, Date.parse("2026-12-01T12:01:00Z"))).toBe("Partner data as of 11:58 UTC (3 min ago)");
    expect(freshnessText([feed("a", null)])).toBe("Partner data: not fetched yet.");
    expect(freshnessText([])).toBe("No partner feeds are configured.");
  });
});
