import { describe, expect, test } from "vitest";

import { breakdownRequest, comparisonNeedsFinishedDays, seriesRequest } from "./requests";
import { defaultState } from "./state";

describe("the comparison a page asks for", () => {
  const logsToday = { ...defaultState(), range: { preset: "today" }, compare: "previous_period" as const };
  const accountToday = { ...logsToday, scope: { platform: "meta", account: "1001" } };

  test("logs compare today so far with yesterday up to the same time", () => {
    expect(seriesRequest(logsToday, "hour").compare).toBe("previous_period_to_date");
    expect(comparisonNeedsFinishedDays(logsToday)).toBe(false);
  });

  test("an ad account's running period asks no comparison, its daily numbers cannot be cut at this time", () => {
    for (const preset of ["today", "this_month", "this_year"]) {
      const state = { ...accountToday, range: { preset } };
      expect(seriesRequest(state, "day").compare, preset).toBeUndefined();
      expect(breakdownRequest(state).compare, preset).toBeUndefined();
      expect(comparisonNeedsFinishedDays(state), preset).toBe(true);
    }
  });

  test("an ad account's finished days are compared as usual", () => {
    const yesterday = { ...accountToday, range: { preset: "yesterday" } };
    expect(seriesRequest(yesterday, "day").compare).toBe("previous_period");
    expect(comparisonNeedsFinishedDays(yesterday)).toBe(false);
    expect(comparisonNeedsFinishedDays({ ...accountToday, compare: "none" })).toBe(false);
  });
});
