import { describe, expect, test } from "vitest";

import { defaultGranularity, rangeDays, validGranularities } from "./time";

// As the API's catalog reports them (query-api/src/query/time.rs).
const MAX_DAYS = { none: 36600, minute: 3, hour: 92, day: 1100, week: 3660, month: 36600, quarter: 36600, year: 36600 };

describe("granularities offered for a range", () => {
  test.each([
    ["today", ["minute", "hour"], "hour"],
    ["last_7_days", ["hour", "day"], "day"],
    ["last_30_days", ["hour", "day", "week"], "day"],
    ["last_90_days", ["hour", "day", "week", "month"], "day"],
    ["this_year", ["day", "week", "month", "quarter"], "week"],
  ])("%s", (preset, valid, chosen) => {
    const days = rangeDays({ preset });
    expect(validGranularities(days, MAX_DAYS)).toEqual(valid);
    expect(defaultGranularity(days, valid)).toBe(chosen);
  });

  test("custom ranges count both end dates", () => {
    expect(rangeDays({ from: "2026-05-01", to: "2026-05-01" })).toBe(1);
    expect(rangeDays({ from: "2026-02-01", to: "2026-03-31" })).toBe(59);
    expect(validGranularities(3, MAX_DAYS)).toContain("minute");
    expect(validGranularities(4, MAX_DAYS)).not.toContain("minute");
  });
});
