// The dashboard in a real browser against the real API and local stack.

import { readFileSync } from "node:fs";

import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import type { QueryResponse } from "../src/api";
import { formatValue } from "../src/format";
import { type Browser, isBreakdown, isSeries, launch, openSignedIn, queryDuring, screenshot, settled, withToken } from "./browser";
import { clickhouse, rows } from "./clickhouse";
import { asExpected, expectedTotals, type RawFilter } from "./expected";

const stack = inject("stack");
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const UNITS: Record<string, "count" | "currency" | "percent"> = {
  impressions: "count",
  revenue: "currency",
  ecpm: "currency",
  fill_rate: "percent",
  ctr: "percent",
  vtr: "percent",
};

/** The same request sent by the test itself, with the tenant's token. */
async function replay(token: string, body: unknown): Promise<QueryResponse> {
  const response = await fetch(`${stack.baseUrl}/api/v1/query`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as QueryResponse;
}

interface TileReading {
  metric: string;
  value: string;
  text: string;
  change: string | null;
  percent: string | null;
}

async function readTiles(page: Page): Promise<TileReading[]> {
  return page.$$eval(".tile", (tiles) =>
    tiles.map((tile) => ({
      metric: (tile as HTMLElement).dataset.metric!,
      value: (tile as HTMLElement).dataset.value!,
      text: tile.querySelector(".tile-value")!.textContent!,
      change: tile.querySelector(".tile-change")?.className ?? null,
      percent: (tile.querySelector(".tile-change") as HTMLElement | null)?.dataset.percent ?? null,
    })),
  );
}

/**
 * Tiles hold exactly the totals of `response` (the API's answer to the very
 * request the page sent), formatted as the dashboard formats them, and
 * those equal an aggregate of the raw events.
 */
async function checkTiles(page: Page, token: string, tenant: string, sent: { request: unknown; response: QueryResponse }, filters: RawFilter[] = []) {
  const api = await replay(token, sent.request);
  expect(api.totals).toEqual(sent.response.totals);
  const tiles = await readTiles(page);
  expect(tiles.map((tile) => tile.metric)).toEqual(Object.keys(UNITS));
  for (const tile of tiles) {
    const value = api.totals[tile.metric];
    expect(tile.value, tile.metric).toBe(String(value));
    expect(tile.text, tile.metric).toBe(formatValue(value, UNITS[tile.metric], "USD"));
  }
  const expected = await expectedTotals(stack.database, tenant, api.meta.time_range, filters);
  for (const metric of Object.keys(UNITS)) {
    expect(asExpected(metric, api.totals[metric]), metric).toEqual(expected[metric]);
  }
  if (api.comparison) {
    const previous = await expectedTotals(stack.database, tenant, api.comparison.time_range, filters);
    for (const metric of Object.keys(UNITS)) {
      expect(asExpected(metric, api.comparison.totals[metric]), `${metric} (comparison)`).toEqual(previous[metric]);
      const tile = tiles.find((entry) => entry.metric === metric)!;
      expect(tile.percent, metric).toBe(String(api.comparison.change[metric].percent ?? "null"));
    }
  }
  return api;
}

async function chartData(page: Page) {
  return page.$eval("#chart", (figure) => ({
    labels: JSON.parse((figure as HTMLElement).dataset.labels!) as string[],
    current: JSON.parse((figure as HTMLElement).dataset.current!) as (number | null)[],
    comparison: JSON.parse((figure as HTMLElement).dataset.comparison!) as (number | null)[] | null,
  }));
}

const params = (page: Page) => new URL(page.url()).searchParams;

describe("sign-in", () => {
  test("a wrong token is refused with the 401 message, a valid one opens the report", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.baseUrl}/`);
    await page.fill("#token", "adh_" + "0".repeat(64));
    await page.click("button[type=submit]");
    await page.waitForSelector("#signin-error");
    expect(await page.textContent("#signin-error")).toContain("not accepted");
    await screenshot(page, "sign-in-401");

    const sent = await queryDuring(page, isSeries, async () => {
      await page.fill("#token", stack.tokens.acme);
      await page.click("button[type=submit]");
    });
    await settled(page);
    expect(await page.evaluate(() => sessionStorage.getItem("adhouse.token"))).toBe(stack.tokens.acme);
    expect(sent.request).toMatchObject({ time_range: { preset: "last_7_days" }, granularity: "day", compare: "previous_period" });
    await page.close();
  });

  test("signing out forgets the token", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);
    await page.click("#sign-out");
    await page.waitForSelector("#token");
    expect(await page.evaluate(() => sessionStorage.getItem("adhouse.token"))).toBeNull();
    await page.reload();
    await page.waitForSelector("#token");
    await page.close();
  });

  test("a token revoked mid-session sends the user back to sign-in with the 401 message", async () => {
    const token = stack.tokens.revocable;
    const page = await openSignedIn(browser.context, stack.baseUrl, token);
    await clickhouse("DELETE FROM {db:Identifier}.api_tokens WHERE token_sha256 = lower(hex(SHA256({token:String})))", {
      db: stack.database,
      token,
    });
    await page.click("#refresh");
    await page.waitForSelector("#signin-error");
    expect(await page.textContent("#signin-error")).toContain("401");
    expect(await page.evaluate(() => sessionStorage.getItem("adhouse.token"))).toBeNull();
    await page.close();
  });
});

describe("report", () => {
  test("tiles show exactly the API's totals for the page's request, equal to an aggregate of raw events", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.baseUrl}/`);
    const sent = await queryDuring(page, isSeries, async () => {
      await page.fill("#token", stack.tokens.acme);
      await page.click("button[type=submit]");
    });
    await settled(page);
    const api = await checkTiles(page, stack.tokens.acme, "acme", sent);
    expect(Number(api.totals.impressions)).toBeGreaterThan(0);
    // "Data as of" is the newest event's time.
    await page.waitForSelector("#freshness[data-latest]");
    const [newest] = await rows<{ latest: string }>(
      "SELECT formatDateTime(max(ts), '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS latest FROM {db:Identifier}.events WHERE tenant = 'acme' AND ts >= now() - toIntervalDay(7)",
      { db: stack.database },
    );
    expect(Date.parse((await page.getAttribute("#freshness", "data-latest"))!)).toBe(Date.parse(newest.latest));
    expect(await page.textContent("#freshness")).toMatch(/^Data as of /);

    const chart = await chartData(page);
    expect(chart.labels).toHaveLength(7);
    expect(chart.current).toEqual(api.rows.map((row) => row[api.columns.findIndex((column) => column.name === "impressions")]));
    expect(chart.comparison).toHaveLength(7);
    // The default chart metric is the first tile; a rise in impressions is good.
    expect(await page.getAttribute(".tile[data-metric=impressions]", "aria-pressed")).toBe("true");
    await screenshot(page, "overview-1280");
    await page.close();
  });

  test("changing range, compare and granularity updates tiles, chart and URL", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);

    let sent = await queryDuring(page, isSeries, () => page.selectOption("#range", "last_30_days"));
    await settled(page);
    expect(params(page).get("range")).toBe("last_30_days");
    expect((await chartData(page)).labels).toHaveLength(30);
    await checkTiles(page, stack.tokens.acme, "acme", sent);

    sent = await queryDuring(page, isSeries, () => page.selectOption("#compare", "previous_year"));
    await settled(page);
    expect(params(page).get("cmp")).toBe("previous_year");
    expect(sent.request).toMatchObject({ compare: "previous_year" });
    expect(sent.response.comparison?.totals.impressions).toBeGreaterThan(0);
    await checkTiles(page, stack.tokens.acme, "acme", sent);

    sent = await queryDuring(page, isSeries, () => page.selectOption("#granularity", "week"));
    await settled(page);
    expect(params(page).get("g")).toBe("week");
    expect((await chartData(page)).labels.length).toBeLessThanOrEqual(6);

    sent = await queryDuring(page, isSeries, () => page.selectOption("#compare", "none"));
    await settled(page);
    expect(params(page).get("cmp")).toBe("none");
    expect(sent.response.comparison).toBeUndefined();
    expect((await chartData(page)).comparison).toBeNull();
    expect(await page.$$eval(".tile-change", (changes) => changes.map((change) => change.textContent))).toEqual(Array(6).fill("no comparison"));

    // Today offers only granularities finer than a day.
    await queryDuring(page, isSeries, () => page.selectOption("#range", "today"));
    await settled(page);
    expect(await page.$$eval("#granularity option", (options) => options.map((option) => (option as HTMLOptionElement).value))).toEqual(["minute", "hour"]);
    expect(params(page).get("g")).toBeNull();

    // The URL restores the whole view.
    await page.goto(`${stack.baseUrl}/?range=last_90_days&cmp=none&chart=revenue`);
    await settled(page);
    expect(await page.inputValue("#range")).toBe("last_90_days");
    expect(await page.getAttribute(".tile[data-metric=revenue]", "aria-pressed")).toBe("true");
    await page.goBack();
    await settled(page);
    expect(await page.inputValue("#range")).toBe("today");
    await page.close();
  });

  test("today so far is compared with yesterday until the same minute, and says so", async () => {
    const page = await withToken(browser.context, stack.baseUrl, stack.tokens.acme);
    const sent = await queryDuring(page, isSeries, () => page.goto(`${stack.baseUrl}/?range=today`));
    await settled(page);
    expect(sent.request).toMatchObject({ time_range: { preset: "today" }, compare: "previous_period_to_date" });
    const comparison = sent.response.comparison!;
    const [from, to] = [comparison.time_range.from, comparison.time_range.to];
    expect(to.slice(0, 10)).toBe(from.slice(0, 10));
    expect(to.slice(11, 16)).not.toBe("00:00");
    // What the page shows is the API's answer, and that is the raw events' count up to that minute yesterday.
    const previous = await expectedTotals(stack.database, "acme", comparison.time_range);
    for (const metric of Object.keys(UNITS)) expect(asExpected(metric, comparison.totals[metric]), metric).toEqual(previous[metric]);
    const tiles = await readTiles(page);
    for (const tile of tiles) expect(tile.percent, tile.metric).toBe(String(comparison.change[tile.metric].percent ?? "null"));
    expect(await page.textContent(".range-caption")).toContain(`until ${to.slice(11, 16)}`);
    await page.close();
  });

  test("clicking a tile (or pressing Enter on it) charts that metric without a new request", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);
    let queries = 0;
    page.on("request", (request) => void (request.url().endsWith("/api/v1/query") && queries++));
    await page.focus(".tile[data-metric=revenue]");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("chart") === "revenue");
    expect(await page.textContent("#chart-title")).toBe("Revenue by day");
    await page.click(".tile[data-metric=ctr]");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("chart") === "ctr");
    expect(queries).toBe(0);
    await page.close();
  });

  test("a filter chip narrows tiles and table to the chosen values", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);
    await page.click(".add-filter");
    await page.selectOption("#filter-dimension", "country");
    await page.waitForSelector("#filter-values[data-state=ready] input[value=US]");
    await page.fill("#filter-search", "D");
    await page.waitForFunction(() => {
      const list = document.querySelector<HTMLElement>("#filter-values")!;
      return list.dataset.state === "ready" && !list.querySelector("input[value=US]");
    });
    await page.check("#filter-values input[value=DE]");
    await screenshot(page, "filter-dialog");
    await page.fill("#filter-search", "");
    await page.waitForSelector("#filter-values[data-state=ready] input[value=US]");
    expect(await page.isChecked("#filter-values input[value=DE]")).toBe(true);
    await page.check("#filter-values input[value=US]");

    const [series, breakdown] = await Promise.all([
      queryDuring(page, isSeries, async () => {}),
      queryDuring(page, isBreakdown, async () => {}),
      page.click("#filter-apply"),
    ]);
    await settled(page);
    expect(params(page).getAll("f")).toEqual(["country:in:DE,US"]);
    expect(await page.textContent(".chip-edit")).toBe("Country is any of DE, US");
    await checkTiles(page, stack.tokens.acme, "acme", series, [{ dimension: "country", values: ["DE", "US"] }]);
    expect(breakdown.request.filters).toEqual([{ dimension: "country", op: "in", values: ["DE", "US"] }]);

    await queryDuring(page, isBreakdown, () => page.selectOption("#breakdown-dimension", "country"));
    await settled(page);
    expect((await page.$$eval("#breakdown tbody th", (cells) => cells.map((cell) => (cell as HTMLElement).dataset.value))).sort()).toEqual(["DE", "US"]);
    // Codes stay (filters and the CSV use them), with the country's name beside.
    expect((await page.$$eval("#breakdown tbody th", (cells) => cells.map((cell) => cell.textContent))).sort()).toEqual(["DE Germany", "US United States"]);

    await queryDuring(page, isSeries, () => page.click(".chip-remove"));
    await settled(page);
    expect(params(page).getAll("f")).toEqual([]);
    await page.close();
  });

  test("a source in the sidebar scopes the whole page", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);
    const sources = await page.$$eval(".source", (buttons) => buttons.map((button) => (button as HTMLElement).dataset.source));
    // "All" first, then the tenant's sources, most impressions first.
    expect(sources[0]).toBe("");
    expect(sources.slice(1).sort()).toEqual(["adserver-jsonl", "cdn-w3c", "vast-tsv"]);
    const sent = await queryDuring(page, isSeries, () => page.click(".source[data-source=cdn-w3c]"));
    await settled(page);
    expect(params(page).get("src")).toBe("cdn-w3c");
    expect(await page.getAttribute(".source[data-source=cdn-w3c]", "aria-current")).toBe("true");
    await checkTiles(page, stack.tokens.acme, "acme", sent, [{ dimension: "source", values: ["cdn-w3c"] }]);
    await page.close();
  });

  test("a source's configured display name shows in the sidebar and the breakdown; the name stays what filters use", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme, "by=source");
    await settled(page);
    expect((await page.textContent(".source[data-source=cdn-w3c] span"))?.trim()).toBe("CDN (CloudFront)");
    expect(await page.getAttribute(".source[data-source=cdn-w3c]", "title")).toBe("Source cdn-w3c");
    expect((await page.textContent(".source[data-source=vast-tsv] span"))?.trim()).toBe("vast-tsv");
    const row = page.locator("#breakdown tbody th[data-value=cdn-w3c]");
    expect((await row.textContent())?.trim()).toBe("CDN (CloudFront)");
    expect(await row.getAttribute("title")).toBe("cdn-w3c");
    expect((await page.textContent("#breakdown tbody th[data-value=vast-tsv]"))?.trim()).toBe("vast-tsv");
    await page.close();
  });

  test("the CSV download holds exactly the table as shown", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme, "by=demand_partner");
    await queryDuring(page, isBreakdown, () => page.click("#breakdown thead button[data-column=revenue]"));
    await settled(page);
    expect(params(page).get("sort")).toBe("revenue.desc");
    await queryDuring(page, isBreakdown, () => page.click("#breakdown thead button[data-column=revenue]"));
    await settled(page);
    expect(params(page).get("sort")).toBe("revenue.asc");

    const table = await page.$eval("#breakdown", (element) => ({
      header: [...element.querySelectorAll("thead th button[data-column]")].map((button) => button.textContent!.replace(/[↑↓]/g, "").trim()),
      rows: [...element.querySelectorAll("tbody tr")].map((row) => [...row.children].map((cell) => (cell as HTMLElement).dataset.value!)),
    }));
    const revenues = table.rows.map((row) => Number(row[table.header.indexOf("Revenue")]));
    expect(revenues).toEqual([...revenues].sort((a, b) => a - b));
    expect(table.rows).toHaveLength(5);

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
    expect(download.suggestedFilename()).toMatch(/^adhouse-demand_partner-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, "utf8").trimEnd().split("\r\n").map((line) => line.split(","));
    expect(csv[0]).toEqual(table.header);
    expect(csv.slice(1)).toEqual(table.rows);
    await page.close();
  });

  test("the breakdown has a totals row, each row's share and its change; the chart marks the hour still running", async () => {
    const page = await withToken(browser.context, stack.baseUrl, stack.tokens.acme);
    const sent = await queryDuring(page, isBreakdown, () => page.goto(`${stack.baseUrl}/?by=demand_partner&range=last_30_days`));
    await settled(page);
    expect(sent.request).toMatchObject({ compare: "previous_period" });
    const totals = await page.$$eval("#breakdown tfoot td[data-total]", (cells) => cells.map((cell) => (cell as HTMLElement).dataset.total));
    expect(totals).toEqual(Object.keys(UNITS).map((metric) => String(sent.response.totals[metric])));
    // Five partners: every row is shown, so the shares of impressions add up to 100 %.
    const shares = await page.$$eval("#breakdown tbody .cell-share", (cells) => cells.map((cell) => Number.parseFloat(cell.textContent!)));
    expect(shares).toHaveLength(sent.response.rows.length);
    expect(Math.abs(shares.reduce((sum, share) => sum + share, 0) - 100)).toBeLessThan(0.5);
    const marks = await page.$$eval("#breakdown tbody tr:first-child .cell-change", (cells) => cells.map((cell) => (cell as HTMLElement).dataset.percent));
    const impressions = sent.response.columns.findIndex((column) => column.name === "impressions");
    const [now, before] = [Number(sent.response.rows[0][impressions]), Number(sent.response.comparison!.rows[0][impressions])];
    expect(Number(marks[0])).toBeCloseTo(((now - before) / before) * 100, 9);
    // The previous value is on the mark (hover, and said to screen readers).
    const mark = page.locator("#breakdown tbody tr:first-child td:nth-child(2) .cell-change");
    expect(await mark.getAttribute("title")).toBe(`Comparison period: ${formatValue(before, "count", "USD")}`);

    await queryDuring(page, isSeries, () => page.goto(`${stack.baseUrl}/?range=today&g=hour`));
    await settled(page);
    const partial = await page.$eval("#chart", (figure) => JSON.parse((figure as HTMLElement).dataset.partial!) as boolean[]);
    const hour = new Date().getUTCHours();
    expect(partial.map((flag, i) => (flag ? i : -1)).filter((i) => i >= 0)).toEqual([hour]);
    await page.close();
  });

  test("ordering the breakdown by change sorts the shown rows by their percent change, and the URL keeps it", async () => {
    const page = await withToken(browser.context, stack.baseUrl, stack.tokens.acme);
    const sent = await queryDuring(page, isBreakdown, () => page.goto(`${stack.baseUrl}/?by=creative_id&range=last_30_days`));
    await settled(page);
    // The same top groups by impressions stay: the page orders them, with no new request.
    let requests = 0;
    page.on("request", (request) => void (request.url().endsWith("/api/v1/query") && (requests += 1)));
    await page.click("#breakdown thead button[data-change-column=impressions]");
    await settled(page);
    expect(sent.request.order_by).toEqual([{ field: "impressions", direction: "desc" }]);
    expect(params(page).get("sort")).toBe("impressions.change.desc");
    const i = sent.response.columns.findIndex((column) => column.name === "impressions");
    const percent = (r: number) => {
      const [now, before] = [sent.response.rows[r][i], sent.response.comparison!.rows[r][i]];
      return typeof now === "number" && typeof before === "number" && before !== 0 ? ((now - before) / Math.abs(before)) * 100 : null;
    };
    // Independently: by the change (rises first, or falls first), rows without a previous value last, ties in the API's order.
    const ordered = (sign: number) =>
      sent.response.rows
        .map((row, r) => ({ id: String(row[0]), change: percent(r), r }))
        .sort((a, b) => {
          if (a.change === null || b.change === null) return a.change === b.change ? a.r - b.r : a.change === null ? 1 : -1;
          return sign * (a.change - b.change) || a.r - b.r;
        })
        .map((row) => row.id);
    expect(ordered(-1).length).toBeGreaterThan(10);
    expect(ordered(-1)).not.toEqual(sent.response.rows.map((row) => String(row[0])));
    const shown = () => page.$$eval("#breakdown tbody th", (cells) => cells.map((cell) => (cell as HTMLElement).dataset.value));
    expect(await shown()).toEqual(ordered(-1));
    expect(await page.textContent("#breakdown caption")).toContain("ordered by change in Impressions");
    await page.click("#breakdown thead button[data-change-column=impressions]");
    await page.waitForFunction(() => new URLSearchParams(location.search).get("sort") === "impressions.change.asc");
    expect(await shown()).toEqual(ordered(1));
    expect(requests).toBe(0);
    await page.close();
  });

  test("while the numbers load, placeholders of the same size hold the layout: nothing moves when they arrive", async () => {
    const page = await withToken(browser.context, stack.baseUrl, stack.tokens.acme);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route("**/api/v1/query", async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${stack.baseUrl}/?range=last_30_days`);
    await page.waitForSelector(".tile .skeleton-bar");
    await page.waitForSelector("#breakdown tbody tr.skeleton-row");
    const layout = () =>
      page.evaluate(() => {
        const box = (selector: string) => {
          const rect = document.querySelector(selector)!.getBoundingClientRect();
          return { top: Math.round(rect.top), height: Math.round(rect.height) };
        };
        return { tiles: box(".tiles-panel"), tile: box(".tile"), chart: box(".chart-panel"), table: box(".table-panel").top };
      });
    const loading = await layout();
    expect(await page.getAttribute(".chart-panel", "aria-busy")).toBe("true");
    expect(await page.$eval("#chart", (figure) => figure.classList.contains("skeleton"))).toBe(true);
    await screenshot(page, "loading");
    release();
    await settled(page);
    expect(await page.$$(".skeleton-bar")).toHaveLength(0);
    expect(await page.$eval("#chart", (figure) => figure.classList.contains("skeleton"))).toBe(false);
    expect(JSON.stringify(await layout())).toBe(JSON.stringify(loading));
    await page.close();
  });

  test("Copy link copies the address that restores the view, and the chart downloads as a PNG", async () => {
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.baseUrl });
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme, "range=last_30_days&chart=revenue");
    await page.click("#copy-link");
    await page.waitForFunction(() => document.querySelector("#copy-link")?.textContent === "Link copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(page.url());
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-png")]);
    expect(download.suggestedFilename()).toBe("adhouse-revenue-by-day.png");
    const png = readFileSync((await download.path())!);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    await page.close();
  });

  test("dark mode follows the system setting", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);
    const background = () => page.evaluate(() => getComputedStyle(document.querySelector(".tiles-panel .tile")!).backgroundColor);
    const light = await background();
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await background();
    expect([light, dark]).toEqual(["rgb(255, 255, 255)", "rgb(17, 26, 43)"]);
    await screenshot(page, "overview-dark");
    await page.close();
  });

  test("a tenant without events sees the empty state", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.empty);
    expect(await page.getAttribute(".chart-panel", "data-state")).toBe("empty");
    expect(await page.getAttribute(".table-panel", "data-state")).toBe("empty");
    expect(await page.textContent(".chart-panel .panel-message")).toContain("No data for this period");
    expect(await page.isDisabled("#download-csv")).toBe(true);
    expect(await page.textContent(".tile[data-metric=impressions] .tile-value")).toBe("0");
    expect(await page.textContent(".tile[data-metric=ecpm] .tile-value")).toBe("—");
    await screenshot(page, "empty-state");
    await page.close();
  });

  test("an API error shows in the panels with a way to retry", async () => {
    // An unknown metric in a hand-edited URL is dropped: the default tiles show.
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme, "m=no_such_metric");
    expect(await page.$$eval(".tile", (tiles) => tiles.length)).toBe(6);
    // A range the API refuses (before 1970) is reported where the report would be.
    await page.goto(`${stack.baseUrl}/?range=custom&from=1960-01-01&to=1960-01-03`);
    await page.waitForSelector(".chart-panel[data-state=error]");
    expect(await page.textContent(".chart-panel .panel-message")).toContain("Invalid value");
    await screenshot(page, "error-state");
    await page.close();
  });

  test("a comparison the API marks unavailable is said so on every tile, never shown as zero", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme);
    // The API's answer when no table still holds the comparison period
    // (query-api's tests make it for real; this stack keeps raw events 10 years).
    await page.route("**/api/v1/query", async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as QueryResponse;
      if (body.comparison) {
        const unavailable = { code: "beyond_retention", reason: "raw events are kept 90 days (schema.events_ttl_days)", setting: "schema.events_ttl_days", retention_days: 90 };
        body.comparison = { time_range: body.comparison.time_range, unavailable } as QueryResponse["comparison"];
      }
      // Not `{ response, json }`: the original Content-Length would no longer fit the body.
      await route.fulfill({ status: response.status(), contentType: "application/json", body: JSON.stringify(body) });
    });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await queryDuring(page, isSeries, () => page.selectOption("#compare", "previous_year"));
    await settled(page);
    expect(errors).toEqual([]);
    const changes = await page.$$eval(".tile-change", (elements) =>
      elements.map((element) => ({ text: element.textContent, code: (element as HTMLElement).dataset.unavailable, title: element.getAttribute("title") })),
    );
    expect(changes).toHaveLength(6);
    for (const change of changes) {
      expect(change).toMatchObject({ text: "comparison unavailable", code: "beyond_retention" });
      expect(change.title).toContain("no longer kept at this level of detail (detailed data is kept 90 days)");
    }
    expect((await chartData(page)).comparison).toBeNull();
    await page.close();
  });

  test("at phone width one bar folds the settings away, tiles come first, and the breakdown scrolls with its first column held", async () => {
    const page = await openSignedIn(browser.context, stack.baseUrl, stack.tokens.acme, "by=publisher_id");
    expect(await page.isVisible(".phone-bar")).toBe(false);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.documentElement.scrollWidth <= 390);
    expect(await page.isVisible("#menu-toggle")).toBe(true);
    expect(await page.textContent("#menu-toggle")).toMatch(/^All sources · Last 7 days · Day/);
    for (const folded of ["#sidebar", "#topbar", ".chips"]) expect(await page.isVisible(folded), folded).toBe(false);
    const top = (selector: string) => page.$eval(selector, (element) => element.getBoundingClientRect().top);
    expect(await top(".tiles-panel")).toBeLessThan(160);
    expect(await page.isVisible(".tile[data-metric=vtr]")).toBe(true);
    await screenshot(page, "overview-phone");

    // The breakdown: wider than the screen, it says so and keeps the publisher in view.
    expect(await page.isVisible(".scroll-hint")).toBe(true);
    const name = "#breakdown tbody tr:first-child th";
    const before = await page.$eval(name, (cell) => cell.getBoundingClientRect().left);
    await page.$eval(".table-scroll", (scroller) => scroller.scrollBy(300, 0));
    await page.waitForFunction(() => document.querySelector(".table-scroll")!.scrollLeft > 0);
    expect(await page.$eval(name, (cell) => cell.getBoundingClientRect().left)).toBe(before);

    await page.click("#menu-toggle");
    expect(await page.getAttribute("#menu-toggle", "aria-expanded")).toBe("true");
    for (const shown of ["#sidebar", "#topbar", "#range"]) expect(await page.isVisible(shown), shown).toBe(true);
    await screenshot(page, "overview-phone-menu");
    await page.selectOption("#range", "last_30_days");
    await page.waitForFunction(() => document.querySelector("#menu-toggle")!.textContent!.includes("Last 30 days"));
    await page.click("#menu-toggle");
    expect(await page.isVisible("#topbar")).toBe(false);
    await page.close();
  });
});
