// Outages in a real browser. An adhouse-api of these tests' own reaches the
// stack's ClickHouse through a gate (gate.ts) that a test shuts and opens,
// so the API answers 503 exactly as when ClickHouse is down, while the rest
// of the suite's API and data are untouched.

import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";

import { type Browser, launch, openSignedIn, screenshot, settled, withToken } from "./browser";
import { clickhouse } from "./clickhouse";
import { Gate } from "./gate";
import { createToken, startApi, type Api } from "./stack";

const stack = inject("stack");
let browser: Browser;
let gate: Gate;
let api: Api;

beforeAll(async () => {
  const target = process.env.ADHOUSE__CLICKHOUSE__URL ?? process.env.CLICKHOUSE_URL;
  if (!target) throw new Error("ADHOUSE__CLICKHOUSE__URL is not set: `set -a; . .dev/env; set +a`");
  gate = await Gate.to(target);
  api = await startApi(stack.database, { ADHOUSE__CLICKHOUSE__URL: gate.url });
  browser = await launch();
});
afterEach(async () => {
  await gate.open();
});
afterAll(async () => {
  await browser?.close();
  api?.stop();
  await gate?.shut();
});

/** The notice's line, as a marketer reads it. */
const NOTICE = /^Reporting database unreachable — retrying in \d+ s/;

const storedToken = (page: Page) => page.evaluate(() => sessionStorage.getItem("adhouse.token"));
const panelStates = (page: Page) => page.$$eval(".panel", (panels) => panels.map((panel) => (panel as HTMLElement).dataset.state));
const sourcesAnswer = (page: Page, status: number) =>
  page.waitForResponse((response) => response.url().endsWith("/api/v1/sources") && response.status() === status);

async function outageShown(page: Page): Promise<void> {
  await page.waitForSelector(".banner.outage:not([hidden])");
  expect(await page.innerText(".outage-line")).toMatch(NOTICE);
}

/** The technical details are there, but only behind the disclosure. */
async function detailsBehindDisclosure(page: Page): Promise<void> {
  expect(await page.isVisible(".outage .technical")).toBe(false);
  await page.click(".outage summary");
  expect(await page.textContent(".outage .technical")).toContain("HTTP 503 · clickhouse_unavailable");
}

describe("outage", () => {
  test("loading the page while ClickHouse is down keeps the token, retries on its own and opens the report once it is back", async () => {
    await gate.shut();
    const page = await withToken(browser.context, api.baseUrl, stack.tokens.acme);
    const first = sourcesAnswer(page, 503);
    await page.goto(`${api.baseUrl}/`);
    await first;
    await outageShown(page);
    expect(await page.$("#token")).toBeNull();
    expect(await storedToken(page)).toBe(stack.tokens.acme);
    await detailsBehindDisclosure(page);
    await screenshot(page, "outage-at-sign-in");

    // The countdown runs out and the page tries again by itself, still in vain...
    await sourcesAnswer(page, 503);
    expect(await storedToken(page)).toBe(stack.tokens.acme);
    // ...and once ClickHouse is back, the next try opens the report.
    await gate.open();
    await settled(page);
    expect(await panelStates(page)).toEqual(["ready", "ready", "ready"]);
    expect(Number(await page.getAttribute(".tile[data-metric=impressions]", "data-value"))).toBeGreaterThan(0);
    await page.close();
  });

  test("mid-session, the page says so once in plain words, disables what has nothing to act on, and reloads everything when it is back", async () => {
    const page = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme);
    expect(await page.isDisabled("#download-csv")).toBe(false);
    await gate.shut();
    await page.click("#refresh");
    await outageShown(page);
    await settled(page);

    expect(await panelStates(page)).toEqual(["unavailable", "unavailable", "unavailable"]);
    expect(await page.$$eval(".panel-message", (messages) => messages.map((message) => message.textContent))).toEqual(["", ""]);
    expect(await page.$$eval(".tile-value", (values) => [...new Set(values.map((value) => value.textContent))])).toEqual(["—"]);
    const visible = await page.innerText("body");
    expect(visible.match(/unreachable/g)).toHaveLength(1);
    expect(visible).not.toContain("ClickHouse");
    expect(await page.isDisabled("#download-csv")).toBe(true);
    expect(await page.isDisabled(".add-filter")).toBe(true);
    expect(await storedToken(page)).toBe(stack.tokens.acme);
    await detailsBehindDisclosure(page);
    await screenshot(page, "outage-mid-session");

    // No click: the next try reloads the sources and both panels.
    const sources = sourcesAnswer(page, 200);
    await gate.open();
    await sources;
    await page.waitForSelector(".banner.outage[hidden]", { state: "attached" });
    await settled(page);
    expect(await panelStates(page)).toEqual(["ready", "ready", "ready"]);
    expect(await page.isDisabled("#download-csv")).toBe(false);
    expect(await page.isDisabled(".add-filter")).toBe(false);
    expect(Number(await page.getAttribute(".tile[data-metric=impressions]", "data-value"))).toBeGreaterThan(0);
    await page.close();
  });

  test("only a 401 signs out: a token revoked during the outage is refused once ClickHouse answers again", async () => {
    const token = createToken(stack.database, "acme");
    const page = await openSignedIn(browser.context, api.baseUrl, token);
    await gate.shut();
    await page.click("#refresh");
    await outageShown(page);
    expect(await storedToken(page)).toBe(token);

    await clickhouse("DELETE FROM {db:Identifier}.api_tokens WHERE token_sha256 = lower(hex(SHA256({token:String})))", {
      db: stack.database,
      token,
    });
    await gate.open();
    await page.waitForSelector("#signin-error");
    expect(await page.textContent("#signin-error")).toContain("401");
    expect(await storedToken(page)).toBeNull();
    await page.close();
  });
});
