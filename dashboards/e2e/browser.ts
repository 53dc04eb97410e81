// Debian's chromium driven by playwright-core (never a downloaded browser),
// with a fresh profile per suite, and helpers that wait for conditions.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { chromium, type BrowserContext, type Page } from "playwright-core";

import type { QueryRequest, QueryResponse } from "../src/api";
import { ARTIFACTS } from "./stack";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  close: () => Promise<void>;
}

/** One persistent context on a fresh profile; every page has its own session storage. */
export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), "adhouse-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    timezoneId: "UTC",
    locale: "en-US",
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until every shown panel has finished loading (ready, empty or error): the report's three, or the discrepancy report. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const panels = [...document.querySelectorAll<HTMLElement>(".panel")];
    const shown = panels.filter((panel) => !panel.hidden);
    return shown.length > 0 && shown.every((panel) => panel.dataset.state && panel.dataset.state !== "loading");
  });
}

export interface Exchange {
  request: QueryRequest;
  response: QueryResponse;
}

/**
 * Runs `action` and returns the query the page sent to `POST /api/v1/query`
 * whose body satisfies `match` (the series or the breakdown), with its answer.
 */
export async function queryDuring(page: Page, match: (request: QueryRequest) => boolean, action: () => Promise<unknown>): Promise<Exchange> {
  const answered = page.waitForResponse((response) => {
    if (!response.url().endsWith("/api/v1/query") || response.request().method() !== "POST") return false;
    return match(JSON.parse(response.request().postData() ?? "{}") as QueryRequest);
  });
  await action();
  const response = await answered;
  return { request: JSON.parse(response.request().postData() ?? "{}"), response: (await response.json()) as QueryResponse };
}

export const isSeries = (request: QueryRequest) => request.granularity !== undefined;
export const isBreakdown = (request: QueryRequest) => (request.dimensions?.length ?? 0) > 0;

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A new tab with `token` in its session storage, about to open the dashboard (the test navigates). */
export async function withToken(context: BrowserContext, baseUrl: string, token: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/`);
  await page.evaluate((value) => sessionStorage.setItem("adhouse.token", value), token);
  return page;
}

/** Opens the dashboard with a token already in the tab's session storage. */
export async function openSignedIn(context: BrowserContext, baseUrl: string, token: string, query = ""): Promise<Page> {
  const page = await withToken(context, baseUrl, token);
  await page.goto(`${baseUrl}/${query ? "?" + query : ""}`);
  await settled(page);
  return page;
}
