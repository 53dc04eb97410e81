import { describe, expect, test } from "vitest";

import { partialBuckets, startsBucket } from "./views/chart";

describe("partial buckets are marked, whole ones are not", () => {
  test("months over the last 30 days: both ends cut", () => {
    const starts = ["2026-11-01T00:00:00+09:00", "2026-12-01T00:00:00+09:00"];
    const range = { from: "2026-11-03T00:00:00+09:00", to: "2026-12-03T00:00:00+09:00" };
    expect(partialBuckets(starts, range, "month", Date.parse("2026-12-05T00:00:00Z"))).toEqual([true, true]);
  });

  test("whole days of a finished week: none", () => {
    const starts = ["2026-11-23T00:00:00+00:00", "2026-11-24T00:00:00+00:00"];
    const range = { from: "2026-11-23T00:00:00+00:00", to: "2026-11-25T00:00:00+00:00" };
    expect(partialBuckets(starts, range, "day", Date.parse("2026-12-01T00:00:00Z"))).toEqual([false, false]);
  });

  test("today by hour: the hour now is partial, the ones before are whole", () => {
    const starts = ["2026-12-01T00:00:00+01:00", "2026-12-01T01:00:00+01:00", "2026-12-01T02:00:00+01:00"];
    const range = { from: "2026-12-01T00:00:00+01:00", to: "2026-12-02T00:00:00+01:00" };
    expect(partialBuckets(starts, range, "hour", Date.parse("2026-12-01T00:30:00Z"))).toEqual([false, true, false]);
  });

  test("bucket starts in local time: Monday weeks, quarters, years", () => {
    expect(startsBucket("2026-11-30T00:00:00+09:00", "week")).toBe(true);
    expect(startsBucket("2026-12-01T00:00:00+09:00", "week")).toBe(false);
    expect(startsBucket("2026-10-01T00:00:00-04:00", "quarter")).toBe(true);
    expect(startsBucket("2026-11-01T00:00:00-04:00", "quarter")).toBe(false);
    expect(startsBucket("2027-01-01T00:00:00+00:00", "year")).toBe(true);
  });
});
