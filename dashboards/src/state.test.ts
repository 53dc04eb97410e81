import { describe, expect, test } from "vitest";

import { defaultState, parseState, serializeState } from "./state";

describe("page state in the URL", () => {
  test("the default view has an empty query string", () => {
    expect(serializeState(defaultState())).toBe("");
    expect(parseState("")).toEqual(defaultState());
  });

  test("a full view survives a round trip, including values with commas and colons", () => {
    const state = {
      ...defaultState(),
      source: "cdn-w3c",
      range: { from: "2026-05-01", to: "2026-05-10" },
      timezone: "Asia/Tokyo",
      granularity: "hour",
      compare: "previous_year" as const,
      metrics: ["revenue", "ctr"],
      chartMetric: "ctr",
      breakdown: "country",
      sort: { field: "country", direction: "asc" as const },
      filters: [
        { dimension: "domain", op: "contains" as const, values: ["a,b:c"] },
        { dimension: "country", op: "not_in" as const, values: ["US", "DE"] },
      ],
      autoRefresh: true,
      currency: "EUR",
    };
    expect(parseState("?" + serializeState(state))).toEqual(state);
  });

  test("malformed parameters fall back to their defaults", () => {
    const state = parseState("?range=custom&from=2026-05-10&to=2026-05-01&cmp=sideways&f=country:like:US&f=bad&sort=x;drop&cur=dollars");
    expect(state).toEqual(defaultState());
  });

  test("the chart metric must be one of the tiles", () => {
    expect(parseState("?m=revenue,ctr&chart=impressions").chartMetric).toBe("revenue");
  });
});
