import { describe, expect, test } from "vitest";

import type { QueryResponse } from "./api";
import { breakdownCsv, rowOrder } from "./views/breakdown";
import { defaultState, normalize, parseState, serializeState } from "./state";

// Four countries by impressions as the API sorted them, with last period's values:
// US +10 %, DE -50 %, JP new (no previous value), FR +200 %.
const response = {
  columns: [
    { name: "country", label: "Country", kind: "dimension" },
    { name: "impressions", label: "Impressions", kind: "metric" },
  ],
  rows: [["US", 1100], ["DE", 500], ["JP", 300], ["FR", 90]],
  totals: { impressions: 1990 },
  comparison: {
    time_range: { from: "", to: "", timezone: "UTC" },
    rows: [["US", 1000], ["DE", 1000], ["JP", null], ["FR", 30]],
    totals: { impressions: 2030 },
    change: { impressions: { absolute: -40, percent: -1.97 } },
  },
  meta: { table: "events_1d", granularity: "none", time_range: { from: "", to: "", timezone: "UTC" } },
} as unknown as QueryResponse;

const state = (sort: string) => parseState(`?by=country&cmp=previous_period&sort=${sort}`);

describe("ordering the breakdown by change", () => {
  test("biggest rise first, or biggest fall first; rows without a previous value last either way", () => {
    expect(rowOrder(response, state("impressions.change.desc")).map((r) => response.rows[r][0])).toEqual(["FR", "US", "DE", "JP"]);
    expect(rowOrder(response, state("impressions.change.asc")).map((r) => response.rows[r][0])).toEqual(["DE", "US", "FR", "JP"]);
  });

  test("by value the API's order stands, and the CSV follows the order shown", () => {
    expect(rowOrder(response, state("impressions.desc"))).toEqual([0, 1, 2, 3]);
    expect(breakdownCsv(response, state("impressions.change.asc")).split("\r\n").slice(1, 3)).toEqual(["DE,500", "US,1100"]);
  });

  test("survives the URL, and is dropped without a comparison to change against", () => {
    const byChange = state("impressions.change.asc");
    expect(byChange.sort).toEqual({ field: "impressions", direction: "asc", byChange: true });
    expect(parseState("?" + serializeState(byChange)).sort).toEqual(byChange.sort);
    expect(serializeState({ ...defaultState(), sort: { field: "impressions", direction: "desc" } })).toBe("");
    expect(normalize({ ...byChange, compare: "none" }).sort).toEqual({ field: "impressions", direction: "asc" });
  });
});
