import { describe, expect, test } from "vitest";

import { changeState, defaultState, granularities, normalize, parseState, serializeState } from "./state";

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
      scope: null,
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

describe("one set of rules for every new state", () => {
  const catalog = {
    metrics: ["impressions", "revenue", "ecpm", "fill_rate", "ctr", "vtr", "clicks"].map((name) => ({ name, label: name, unit: "count" as const, description: "", combine: "sum" })),
    dimensions: [{ name: "publisher_id", label: "Publisher" }, { name: "country", label: "Country" }],
    granularities: [
      { name: "minute", max_range_days: 1 },
      { name: "hour", max_range_days: 31 },
      { name: "day", max_range_days: 400 },
      { name: "week", max_range_days: 800 },
    ],
    datasets: {
      logs: { metrics: [], dimensions: [] },
      platforms: {
        metrics: ["spend", "impressions", "clicks", "ctr", "cpc", "conversions", "cpa", "roas", "followers", "follows", "profile_views", "engagements", "video_views"].map((name) => ({ name, label: name, unit: "count" as const, description: "", combine: "sum" })),
        dimensions: [{ name: "campaign", label: "Campaign" }, { name: "ad", label: "Ad" }, { name: "account", label: "Account" }],
      },
    },
  };

  test("names the catalog does not know fall back to the defaults", () => {
    const state = normalize({ ...defaultState(), metrics: ["no_such_metric"], breakdown: "no_such_dimension" }, catalog);
    expect(state.metrics).toEqual(defaultState().metrics);
    expect(state.breakdown).toBe("publisher_id");
  });

  test("dropping the charted metric charts the first tile, and a sort by it moves there too", () => {
    const state = { ...defaultState(), chartMetric: "ctr", sort: { field: "ctr", direction: "asc" as const } };
    const next = changeState(state, { metrics: ["revenue", "clicks"] }, catalog);
    expect(next.chartMetric).toBe("revenue");
    expect(next.sort).toEqual({ field: "revenue", direction: "desc" });
  });

  test("a table sorted by its dimension is sorted by the first metric once the dimension changes", () => {
    const state = { ...defaultState(), breakdown: "country", sort: { field: "country", direction: "asc" as const } };
    expect(changeState(state, { breakdown: "publisher_id" }, catalog).sort).toEqual({ field: "impressions", direction: "desc" });
    expect(changeState(state, { autoRefresh: true }, catalog).sort).toEqual(state.sort);
  });

  test("a picked granularity is dropped by a new range, and by a URL whose range does not allow it", () => {
    const picked = changeState({ ...defaultState(), range: { preset: "last_30_days" } }, { granularity: "week" }, catalog);
    expect(picked.granularity).toBe("week");
    expect(granularities(picked, catalog).chosen).toBe("week");
    expect(changeState(picked, { range: { preset: "last_90_days" } }, catalog).granularity).toBeNull();
    expect(normalize(parseState("?range=today&g=day"), catalog).granularity).toBeNull();
  });

  test("an account view has the platforms' metrics and dimensions, daily granularities, and no log source or filters", () => {
    const logs = { ...defaultState(), source: "s3-logs", filters: [{ dimension: "country", op: "in" as const, values: ["DE"] }], range: { preset: "today" } };
    const account = changeState(logs, { scope: { platform: "meta", account: "1001" } }, catalog);
    expect([account.metrics[0], account.breakdown, account.source, account.filters]).toEqual(["spend", "campaign", null, []]);
    expect(granularities(account, catalog)).toEqual({ valid: [], chosen: "day" });
    expect(granularities({ ...account, range: { preset: "last_7_days" } }, catalog).valid).toEqual(["day"]);
    expect(serializeState(account)).toBe("acct=meta%3A1001&range=today");
    expect(parseState("?" + serializeState(account))).toEqual(normalize(account));
    const back = changeState(account, { source: null }, catalog);
    expect([back.scope, back.metrics]).toEqual([null, defaultState().metrics]);
    // A Page or an Instagram account: organic tiles (followers first), by account; back to an ad account, its tiles again.
    const page = changeState(account, { scope: { platform: "facebook", account: "5001" } }, catalog);
    expect([page.metrics[0], page.breakdown]).toEqual(["followers", "account"]);
    expect(parseState("?" + serializeState(page))).toEqual(normalize(page));
    expect(changeState(page, { scope: { platform: "meta", account: "1001" } }, catalog).metrics[0]).toBe("spend");
    // Instagram keeps no follower history: new followers lead, and no followers tile stays empty.
    const instagram = changeState(page, { scope: { platform: "instagram", account: "17841400000000001" } }, catalog);
    expect([instagram.metrics[0], instagram.chartMetric, instagram.sort.field, instagram.metrics.includes("followers")]).toEqual(["follows", "follows", "follows", false]);
    expect(parseState("?acct=all:EUR").scope).toEqual({ currency: "EUR" });
    expect(parseState("?acct=all:euros").scope).toBeNull();
  });

  test("a normalized state is a fixed point, so a URL read and a change agree", () => {
    const state = normalize(parseState("?m=ctr,revenue&by=country&sort=country.asc&range=last_30_days&g=week"), catalog);
    expect(normalize(state, catalog)).toEqual(state);
    expect(parseState("?" + serializeState(state))).toEqual(state);
  });
});
