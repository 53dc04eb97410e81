// The Grafana dashboard's SQL, with the ClickHouse data source's macros
// expanded as the plugin expands them, runs on the seeded database and
// agrees with the raw events.

import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, inject, test } from "vitest";

import { rows } from "./clickhouse";
import { DASHBOARDS } from "./stack";

const stack = inject("stack");

interface Panel {
  title: string;
  targets: { rawSql: string }[];
}

const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, "grafana", "adhouse-clickhouse.json"), "utf8")) as {
  panels: Panel[];
  templating: { list: { name: string; query: string }[] };
};

const HOUR = 3600;
const now = Math.floor(Date.now() / 1000);
// Three days back to the end of the current hour: every seeded event since `from` is inside.
const from = Math.floor(now / HOUR) * HOUR - 3 * 86400;
const to = Math.floor(now / HOUR) * HOUR + HOUR;

/** grafana-clickhouse-datasource's macros and the dashboard's variables, for tenant acme. */
function expand(sql: string): string {
  return sql
    .replaceAll("${database}", stack.database)
    .replaceAll("${tenant:singlequote}", "'acme'")
    .replace(/\$__timeFilter\((\w+)\)/g, `$1 >= toDateTime(${from}) AND $1 <= toDateTime(${to})`)
    .replaceAll("$__fromTime", `toDateTime(${from})`)
    .replaceAll("$__toTime", `toDateTime(${to})`)
    .replaceAll("$__interval_s", String(HOUR));
}

function panel(prefix: string): string {
  const found = dashboard.panels.find((entry) => entry.title.startsWith(prefix));
  if (!found) throw new Error(`no panel "${prefix}"`);
  return expand(found.targets[0].rawSql);
}

async function rawImpressions(since: string): Promise<number> {
  const [row] = await rows<{ n: string }>(
    `SELECT countIf(event_type = 'impression') AS n FROM {db:Identifier}.events WHERE tenant = 'acme' AND ts >= ${since}`,
    { db: stack.database },
  );
  return Number(row.n);
}

describe("Grafana dashboard", () => {
  test("every query names only the rollup tables and runs", async () => {
    for (const entry of dashboard.panels) {
      const sql = entry.targets[0].rawSql;
      expect(sql, entry.title).toMatch(/\.events_1[mhd]\b/);
      await rows(expand(sql));
    }
    const tenants = await rows<{ tenant: string }>(expand(dashboard.templating.list.find((v) => v.name === "tenant")!.query));
    expect(tenants.map((row) => row.tenant)).toEqual(["acme", "globex"]);
  });

  test("totals and the impressions series from events_1h equal the raw events", async () => {
    const expected = await rawImpressions(`toDateTime(${from})`);
    expect(expected).toBeGreaterThan(0);
    const [totals] = await rows<{ Impressions: string }>(panel("Totals"));
    expect(Number(totals.Impressions)).toBe(expected);
    const series = await rows<{ Impressions: string }>(panel("Impressions over time"));
    expect(series.reduce((sum, row) => sum + Number(row.Impressions), 0)).toBe(expected);
  });

  test("top publishers from events_1d cover whole UTC days", async () => {
    const publishers = await rows<{ Publisher: string; Impressions: string }>(panel("Top publishers"));
    expect(publishers).toHaveLength(6);
    const total = publishers.reduce((sum, row) => sum + Number(row.Impressions), 0);
    expect(total).toBe(await rawImpressions(`toStartOfDay(toDateTime(${from}))`));
  });

  test("the live view has at most one row per minute of the last hour", async () => {
    const minutes = await rows<{ time: string }>(panel("Live"));
    expect(minutes.length).toBeGreaterThan(0);
    expect(minutes.length).toBeLessThanOrEqual(61);
  });
});
