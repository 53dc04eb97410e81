import { describe, expect, test } from "vitest";

import { toCsv } from "./csv";
import { formatBucket, formatChange, formatValue } from "./format";
import { seriesView } from "./views/chart";
import type { QueryResponse } from "./api";

describe("formatting", () => {
  test("each unit reads as people expect", () => {
    expect(formatValue(1234567, "count", "USD")).toBe("1,234,567");
    expect(formatValue(1234.5, "currency", "USD")).toBe("$1,234.50");
    expect(formatValue(1234.5, "currency", "EUR")).toBe("€1,234.50");
    expect(formatValue(1234.5, "currency", "JPY")).toBe("¥1,235");
    expect(formatValue(12.3456, "percent", "USD")).toBe("12.35 %");
    expect(formatValue(null, "percent", "USD")).toBe("—");
  });

  test("a change is green when its direction is good for the metric", () => {
    expect(formatChange("revenue", 12.34)).toMatchObject({ arrow: "▲", text: "12.3 %", tone: "good" });
    expect(formatChange("revenue", -5)).toMatchObject({ arrow: "▼", tone: "bad" });
    expect(formatChange("error_rate", 5)).toMatchObject({ arrow: "▲", tone: "bad" });
    expect(formatChange("cost", -5)).toMatchObject({ arrow: "▼", tone: "good" });
    expect(formatChange("ctr", null)).toMatchObject({ arrow: "", text: "no previous data", tone: "flat" });
    expect(formatChange("ctr", 0.01)).toMatchObject({ text: "0.0 %", tone: "flat" });
  });

  test("bucket labels keep the wall-clock time of the query's timezone", () => {
    expect(formatBucket("2026-05-10T00:00:00+09:00", "day")).toBe("May 10, 2026");
    expect(formatBucket("2026-05-09T23:30:00+05:30", "hour")).toBe("May 9 23:30");
    expect(formatBucket("2026-04-01T00:00:00Z", "quarter")).toBe("Q2 2026");
  });
});

describe("CSV", () => {
  test("quotes separators and defuses spreadsheet formulas in text cells", () => {
    expect(toCsv(["Domain", "Revenue"], [["a,b", 1.5], ['say "hi"', null], ["=SUM(A1)", -2]])).toBe(
      'Domain,Revenue\r\n"a,b",1.5\r\n"say ""hi""",\r\n\'=SUM(A1),-2\r\n',
    );
  });
});

describe("chart series", () => {
  test("the comparison is aligned bucket by bucket; a shorter period leaves gaps", () => {
    const response = {
      columns: [
        { name: "time", label: "Time", kind: "time", type: "timestamp" },
        { name: "impressions", label: "Impressions", kind: "metric", type: "integer", unit: "count" },
      ],
      rows: [["2026-03-01T00:00:00Z", 5], ["2026-03-02T00:00:00Z", 6], ["2026-03-03T00:00:00Z", 7]],
      totals: { impressions: 18 },
      comparison: { time_range: { from: "", to: "", timezone: "UTC" }, rows: [["2026-02-27T00:00:00Z", 1], ["2026-02-28T00:00:00Z", 2]], totals: {}, change: {} },
      meta: { table: "events_1h", granularity: "day", time_range: { from: "2026-03-01T00:00:00Z", to: "2026-03-04T00:00:00Z", timezone: "UTC" } },
    } as QueryResponse;
    expect(seriesView(response, "impressions", "day")).toEqual({
      labels: ["Mar 1, 2026", "Mar 2, 2026", "Mar 3, 2026"],
      current: [5, 6, 7],
      comparison: [1, 2, null],
      comparisonLabels: ["Feb 27, 2026", "Feb 28, 2026"],
      partial: [false, false, false],
    });
  });
});
