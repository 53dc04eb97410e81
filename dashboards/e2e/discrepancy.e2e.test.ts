// The discrepancy report in a real browser, after a real poll: the fake
// partner API (dev/fakeplatforms/partner.py) is loaded with acme's seeded
// impressions per partner and hour, the real `adhouse-ingester poll --once`
// fetches them through the example feed, and the dashboard's report must
// show per partner exactly the designed difference, coloured by the
// threshold, with the feed healthy in the menu and the data's freshness.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import { type Browser, launch, openSignedIn, screenshot } from "./browser";
import { rows } from "./clickhouse";
import { ingester, REPO } from "./stack";

const stack = inject("stack");
let browser: Browser;

const fake = () => {
  const url = process.env.ADHOUSE_DEV_PLATFORMS_URL;
  if (!url) throw new Error("ADHOUSE_DEV_PLATFORMS_URL is not set: `set -a; . .dev/env; set +a`");
  return url;
};

interface Hour {
  partner: string;
  hour: number;
  impressions: number;
  revenue_micros: number;
}

/** The fake's account for this run, so that a demo's `acme` there is left alone; the feed stores it as tenant acme. */
const ACCOUNT = `e2e-${process.pid}`;

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  // What adhouse counts per partner and hour: the partner's truth before its differences.
  const hours = await rows<{ partner: string; hour: string; impressions: string; revenue_micros: string }>(
    "SELECT demand_partner AS partner, toUnixTimestamp(toStartOfHour(ts)) AS hour, count() AS impressions, sum(revenue_micros) AS revenue_micros " +
      "FROM {db:Identifier}.events WHERE tenant = 'acme' AND event_type = 'impression' AND ts >= now() - INTERVAL 4 DAY GROUP BY partner, hour",
    { db: stack.database },
  );
  const partner_hours = hours.map((h) => ({ tenant: ACCOUNT, partner: h.partner, hour: Number(h.hour), impressions: Number(h.impressions), revenue_micros: Number(h.revenue_micros) }));
  const loaded = await fetch(`${fake()}/_fake/partner/load`, { method: "POST", body: JSON.stringify({ manifest: { partner_hours } }) });
  expect(loaded.ok).toBe(true);

  const feeds = mkdtempSync(path.join(tmpdir(), "adhouse-feeds-"));
  const example = readFileSync(path.join(REPO, "ingester/examples/feeds/mediation-hourly.toml"), "utf8");
  writeFileSync(
    path.join(feeds, "mediation-hourly.toml"),
    example
      .replaceAll("https://reports.partner.example", `${fake()}/partner`)
      .replace("account=acme", `account=${ACCOUNT}`)
      .replace(/^reread_hours = .*$/m, "reread_hours = 80"),
  );
  const out = ingester(stack.database, ["poll", "mediation_hourly", "--once"], { ADHOUSE__PARTNERS__FEEDS_DIR: feeds });
  expect(out).toMatch(/rows stored, 0 quarantined/);
  browser = await launch();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe("the discrepancy report", () => {
  test("shows each partner's designed difference, flags those beyond 5 %, and says how fresh the partner data is", async () => {
    const design = (await (await fetch(`${fake()}/_fake/partner/design`)).json()) as Record<string, { impressions_permille: number }>;
    const [from, to] = [day(-2), day(-1)];
    const ours = await rows<Hour>(
      "SELECT demand_partner AS partner, toUnixTimestamp(toStartOfHour(ts)) AS hour, count() AS impressions, sum(revenue_micros) AS revenue_micros " +
        "FROM {db:Identifier}.events WHERE tenant = 'acme' AND event_type = 'impression' AND toDate(ts) BETWEEN {from:Date} AND {to:Date} GROUP BY partner, hour",
      { db: stack.database, from, to },
    );
    const expected = new Map<string, { ours: number; theirs: number }>();
    for (const hour of ours) {
      const delta = design[hour.partner]?.impressions_permille ?? 0;
      const sums = expected.get(hour.partner) ?? { ours: 0, theirs: 0 };
      sums.ours += Number(hour.impressions);
      sums.theirs += Math.floor((Number(hour.impressions) * (1000 + delta)) / 1000);
      expected.set(hour.partner, sums);
    }
    expect(expected.size).toBeGreaterThan(2);

    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme, `view=discrepancy&range=custom&from=${from}&to=${to}&tz=UTC&g=day`);
    await page.waitForSelector('#discrepancy[data-state="ready"]');
    expect(await page.locator(".feed[data-feed=mediation_hourly]").getAttribute("class")).toContain("feed-ok");
    expect(await page.textContent("#data-as-of")).toMatch(/^Partner data as of \d\d:\d\d UTC \((just now|\d+ min ago)\)$/);
    expect(await page.getAttribute("#open-discrepancy", "aria-current")).toBe("true");
    for (const [partner, sums] of expected) {
      const row = page.locator(`#discrepancy-table tr[data-partner="${partner}"]`);
      const cells = await row.locator("td").allInnerTexts();
      expect(cells[0].replaceAll(",", "")).toBe(String(sums.ours));
      expect(cells[1].replaceAll(",", "")).toBe(String(sums.theirs));
      const percent = ((sums.theirs - sums.ours) / sums.ours) * 100;
      expect(cells[2]).toBe(`${percent > 0 ? "+" : ""}${percent.toFixed(2)} %`);
      const over = Math.abs(percent) > 5;
      expect(await row.locator("td.diff").first().getAttribute("class")).toContain(over ? "diff-over" : "diff-within");
    }
    // pubmatic reports 5 % fewer impressions an hour (floored: more on small hours) and 8 % less revenue: flagged.
    expect(await page.getAttribute('#discrepancy-table tr[data-partner="pubmatic"]', "data-flagged")).toBe("true");
    expect(JSON.parse((await page.getAttribute("#discrepancy-chart", "data-partners")) ?? "[]")).toEqual([...expected.keys()].sort());
    await screenshot(page, "discrepancy");
    await page.close();
  });
});
