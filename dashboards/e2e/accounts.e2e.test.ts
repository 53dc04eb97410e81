// Linking an ad account in a real browser: Connect account → Meta → the
// Meta fake's consent page (dev/fakeplatforms/meta.py), where the test
// clicks Allow → back through adhouse-api's callback → the chooser → Link →
// the account in the menu with its backfill progress; and the backfill job
// on an SQS queue of this test's own in moto. Then the same account with a
// revoked grant, re-linked from the menu. X, Google Ads, Yahoo! JAPAN,
// Facebook Pages and Instagram go through their consent pages the same way,
// each then synced and its tiles compared with its fake's oracle.

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import type { Page } from "playwright-core";

import { type Browser, launch, openSignedIn, screenshot } from "./browser";
import { clickhouse } from "./clickhouse";
import { freePort, ingester, startApi, type Api } from "./stack";

const stack = inject("stack");
let browser: Browser;
let api: Api;
let queueUrl: string;

/** One call of moto's SQS query API (the local stack's; no AWS SDK in the dashboard's packages); the answer's XML as text. */
async function sqs(action: string, params: Record<string, string>): Promise<string> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error("AWS_ENDPOINT_URL is not set: `set -a; . .dev/env; set +a`");
  const response = await fetch(endpoint, {
    method: "POST",
    // moto routes a request to a service by the credential scope; it checks no signature.
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${process.env.AWS_REGION ?? "us-east-1"}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: "2012-11-05", ...params }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${action}: ${response.status} ${text}`);
  return text;
}

/** Bodies of the messages on the queue now (read without deleting). */
async function queuedBodies(): Promise<unknown[]> {
  const xml = await sqs("ReceiveMessage", { QueueUrl: queueUrl, MaxNumberOfMessages: "10", VisibilityTimeout: "0" });
  const unescape = (text: string) => text.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
  return [...xml.matchAll(/<Body>([^<]*)<\/Body>/g)].map((match) => JSON.parse(unescape(match[1])));
}

beforeAll(async () => {
  const created = await sqs("CreateQueue", { QueueName: `dashboard-accounts-${process.pid}-${Date.now()}` });
  queueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created)![1];
  // The platform sends the browser back to <public_url>/oauth/callback/meta: this API's own address.
  const port = await freePort();
  api = await startApi(
    stack.database,
    { ADHOUSE__PLATFORMS__PUBLIC_URL: `http://127.0.0.1:${port}`, ADHOUSE__PLATFORMS__SYNC_QUEUE_URL: queueUrl },
    port,
  );
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  api?.stop();
  if (queueUrl) await sqs("DeleteQueue", { QueueUrl: queueUrl });
});

describe("ad accounts", () => {
  test("connect → Allow on Meta's consent page → choose → the account is in the menu with its backfill and its job is queued", async () => {
    const page = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme);
    await page.waitForSelector(".accounts-empty");
    expect(await page.textContent("#accounts")).toContain("No ad account linked yet.");

    await page.click("#connect-account");
    await Promise.all([page.waitForURL(/\/meta\/www\/v25\.0\/dialog\/oauth\?/), page.click('.platform-choice[data-platform="meta"]')]);
    expect(await page.title()).toBe("Log in with Facebook");
    await Promise.all([page.waitForURL(`${api.baseUrl}/?*`), page.click('button[value="allow"]')]);

    // Back on the dashboard: the chooser lists what the demo user can see.
    await page.waitForSelector("dialog.account-chooser[open]");
    expect(new URL(page.url()).searchParams.has("grant")).toBe(false);
    const choices = await page.$$eval("dialog.account-chooser input[name=account]", (boxes) =>
      boxes.map((box) => ({ id: (box as HTMLInputElement).value, checked: (box as HTMLInputElement).checked })),
    );
    expect(choices.length).toBeGreaterThan(0);
    // Link just the first one.
    for (const choice of choices.slice(1)) {
      if (choice.checked) await page.uncheck(`dialog.account-chooser input[value="${choice.id}"]`);
    }
    await screenshot(page, "accounts-chooser");
    await page.click("#link-accounts");
    await page.waitForSelector("dialog.account-chooser", { state: "hidden" });

    const item = page.locator(`.account-group[data-platform="meta"] .account[data-account="${choices[0].id}"]`);
    await item.waitFor();
    expect(await page.textContent('.account-group[data-platform="meta"] .account-platform')).toContain("Meta");
    expect(await item.getAttribute("data-status")).toBe("active");
    expect(await item.locator(".account-status").innerText()).toBe("0/365 days");
    expect(await item.locator("progress").getAttribute("max")).toBe("365");
    expect(await page.textContent(".accounts-message")).toBe("1 account linked. Their history is being fetched.");
    await screenshot(page, "accounts-linked");

    const jobs = await queuedBodies();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ tenant: "acme", platform: "meta", account_id: choices[0].id });
    await page.close();
  });

  test("an account whose grant was revoked says so in plain words, and Re-link goes back to the consent page", async () => {
    // What the ingester writes when Meta answers error 190 for the account: a newer version of its row.
    await clickhouse(
      "INSERT INTO {db:Identifier}.platform_accounts SELECT * REPLACE ('needs_relink' AS status, '190/460 session invalidated' AS status_detail, now64(3) AS updated_at) " +
        "FROM {db:Identifier}.platform_accounts FINAL WHERE tenant = 'acme' AND platform = 'meta'",
      { db: stack.database },
    );
    const page = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme);
    const item = page.locator('.account-group[data-platform="meta"] .account[data-status="needs_relink"]');
    await item.waitFor();
    expect(await item.locator(".badge").innerText()).toBe("Needs re-link");
    expect(await item.locator(".account-detail").innerText()).toContain("Meta no longer lets adhouse read this account");
    expect(await item.innerText()).not.toContain("190/460");
    await screenshot(page, "accounts-needs-relink");
    await Promise.all([page.waitForURL(/\/meta\/www\/v25\.0\/dialog\/oauth\?/), item.locator("button.relink").click()]);
    await Promise.all([page.waitForURL(`${api.baseUrl}/?*`), page.click('button[value="allow"]')]);
    await page.waitForSelector("dialog.account-chooser[open]");
    expect(await page.textContent("dialog.account-chooser")).toContain("needs re-link");
    const relinked = await item.getAttribute("data-account");
    await page.click("#link-accounts");
    await page.locator(`.account-group[data-platform="meta"] .account[data-account="${relinked}"][data-status="active"]`).waitFor();
    expect(await page.locator(".account[data-status=needs_relink]").count()).toBe(0);
    await page.close();
  });

  test("after the real sync, the account's tiles and campaign table show exactly what Meta's fake reports", async () => {
    const [linked] = JSON.parse(
      await clickhouse("SELECT account_id FROM {db:Identifier}.platform_accounts FINAL WHERE tenant = 'acme' AND platform = 'meta' FORMAT JSONCompactColumns", {
        db: stack.database,
      }),
    )[0] as string[];
    ingester(stack.database, ["sync", "--tenant", "acme", "--platform", "meta", "--account", linked]);
    const oracle = (level: string) => oracleRows("meta", linked, level);
    const accountDays = await oracle("account");
    expect(accountDays.length).toBeGreaterThan(30);

    const [from, to] = range();
    const page = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme, `range=custom&from=${from}&to=${to}`);
    await page.locator(`button.account-open[data-scope*='"account":"${linked}"']`).click();
    await page.waitForSelector('.tiles-panel[data-state="ready"] .tile[data-metric="spend"]');
    expect(new URL(page.url()).searchParams.get("acct")).toBe(`meta:${linked}`);
    const tile = async (metric: string) => Number(await page.getAttribute(`.tile[data-metric="${metric}"]`, "data-value"));
    expect(await tile("impressions")).toBe(sum(accountDays, "impressions"));
    expect(await tile("clicks")).toBe(sum(accountDays, "clicks"));
    expect(Math.round((await tile("spend")) * 1e6)).toBe(sum(accountDays, "spend_micros"));
    const currency = await page.textContent('.tile[data-metric="spend"] .tile-value');
    expect(currency).not.toContain("$0.00");

    await page.waitForSelector('.table-panel[data-state="ready"] #breakdown th button[data-column="campaign"]');
    const campaigns = await oracle("campaign");
    const shown = await page.$$eval("#breakdown tbody tr", (rows) =>
      rows.map((row) => ({ id: row.querySelector("th")!.getAttribute("data-value")!, name: row.querySelector("th")!.textContent! })),
    );
    const names = new Map(campaigns.map((row) => [row.entity_id, row.entity_name]));
    expect(shown.length).toBe(names.size);
    for (const row of shown) expect(row.name).toBe(names.get(row.id));
    await screenshot(page, "accounts-dashboard");
    await page.close();
  });

  test("in the last two weeks of Meta's permission the menu asks to re-link, in plain words", async () => {
    // Meta's long-lived token of the linked account ends in three days.
    await clickhouse(
      "INSERT INTO {db:Identifier}.platform_credentials SELECT * REPLACE (now64(3) + toIntervalDay(3) AS expires_at, now64(3) AS updated_at) " +
        "FROM {db:Identifier}.platform_credentials FINAL WHERE tenant = 'acme' AND platform = 'meta'",
      { db: stack.database },
    );
    const page = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme);
    // Every linked Meta account of the grant: the first will do.
    const item = page.locator('.account-group[data-platform="meta"] .account[data-status="active"]').first();
    await item.locator(".badge-warn").waitFor();
    expect(await item.locator(".badge").innerText()).toBe("Re-link soon");
    expect(await item.locator(".account-detail").innerText()).toMatch(/^Meta's permission for adhouse ends on \d{4}-\d{2}-\d{2}: re-link this account/);
    expect(await item.locator("button.relink").isVisible()).toBe(true);
    await page.close();
  });

  test("connect → Authorize app on X's OAuth 1.0a consent page → choose → the X account is in the menu, and after its sync its tiles equal X's fake", async () => {
    // adhouse fetched a request token first: the consent page names it.
    await linkSyncAndCompare({ platform: "x", label: "X Ads", consent: /\/x\/api\/oauth\/authorize\?oauth_token=/, title: "Authorize access", allow: 'button[value="allow"]', account: "18ce54d4x5t", currency: "¥" });
  });

  test("connect → Allow on Google's consent page → choose → the Google Ads customer is in the menu, and after its sync its tiles equal Google's fake", async () => {
    await linkSyncAndCompare({ platform: "google", label: "Google Ads", consent: /\/google\/accounts\/o\/oauth2\/v2\/auth\?/, title: "Sign in - Google Accounts", allow: 'button[type="submit"]' });
  });

  test("connect → Allow on Meta's dialog for Pages → choose → the Page is in the menu, and after its sync its organic tiles equal the fake's", async () => {
    await linkSyncAndCompareOrganic({ platform: "facebook", label: "Facebook Pages", consent: /\/meta\/www\/v25\.0\/dialog\/oauth\?/, title: "Log in with Facebook", allow: 'button[value="allow"]' });
  });

  test("connect → Allow on Meta's dialog for Instagram → choose → the account is in the menu, and after its sync its organic tiles equal the fake's, new followers first", async () => {
    await linkSyncAndCompareOrganic({ platform: "instagram", label: "Instagram", consent: /\/meta\/www\/v25\.0\/dialog\/oauth\?/, title: "Log in with Facebook", allow: 'button[value="allow"]' });
  });

  test("connect → Allow on Yahoo! JAPAN's Business ID page → choose → the Yahoo! account is in the menu, and after its sync its tiles equal Yahoo!'s fake", async () => {
    await linkSyncAndCompare({ platform: "yahoo", label: "Yahoo", consent: /\/yahoo\/biz-oauth\/oauth\/v1\/authorize\?/, title: "Yahoo! JAPAN ビジネスID", allow: 'button[value="allow"]', currency: "¥" });
  });
});

/** How one platform's consent page is reached and answered. */
interface Consent {
  platform: string;
  /** What the menu's group calls the platform. */
  label: string;
  /** The consent page's address. */
  consent: RegExp;
  title: string;
  /** The consent page's allow button. */
  allow: string;
  /** The account to link; the chooser's first active one if not given. */
  account?: string;
  /** A symbol the spend tile shows for the account's currency. */
  currency?: string;
}

/**
 * Connect account → the platform's consent page → Allow → the chooser, where
 * only `account` stays checked → Link; the account is in the menu, active.
 * Returns the account's id.
 */
async function linkThroughConsent(consent: Consent): Promise<string> {
  const page = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme);
  // The menu loaded (with or without the other tests' accounts) before Connect is clicked.
  await page.waitForSelector(".account-group, .accounts-empty");
  await page.click("#connect-account");
  await Promise.all([page.waitForURL(consent.consent), page.click(`.platform-choice[data-platform="${consent.platform}"]`)]);
  expect(await page.title()).toBe(consent.title);
  await Promise.all([page.waitForURL(`${api.baseUrl}/?*`), page.click(consent.allow)]);
  await page.waitForSelector("dialog.account-chooser[open]");
  const choices = await page.$$eval("dialog.account-chooser input[name=account]", (boxes) =>
    boxes.map((box) => ({ id: (box as HTMLInputElement).value, checked: (box as HTMLInputElement).checked, text: box.closest("label")!.textContent! })),
  );
  const id = consent.account ?? choices.find((choice) => !choice.text.includes("inactive"))?.id;
  if (id === undefined) throw new Error(`${consent.platform}'s chooser offers no active account`);
  expect(choices.map((choice) => choice.id)).toContain(id);
  for (const choice of choices) {
    if (choice.id !== id && choice.checked) await page.uncheck(`dialog.account-chooser input[value="${choice.id}"]`);
    if (choice.id === id && !choice.checked) await page.check(`dialog.account-chooser input[value="${id}"]`);
  }
  await page.click("#link-accounts");
  await page.waitForSelector("dialog.account-chooser", { state: "hidden" });
  const item = page.locator(`.account-group[data-platform="${consent.platform}"] .account[data-account="${id}"]`);
  await item.waitFor();
  expect(await page.textContent(`.account-group[data-platform="${consent.platform}"] .account-platform`)).toContain(consent.label);
  expect(await item.getAttribute("data-status")).toBe("active");
  await screenshot(page, `accounts-${consent.platform}-linked`);
  await page.close();
  return id;
}

/** The real sync of a linked account, then the fake's oracle of its days over `range()`. */
async function syncAndOracle(platform: string, id: string): Promise<OracleRow[]> {
  ingester(stack.database, ["sync", "--tenant", "acme", "--platform", platform, "--account", id]);
  const days = await oracleRows(platform, id, "account");
  expect(days.length).toBeGreaterThan(30);
  return days;
}

/** The dashboard over `range()` opened on one account from the menu, once its `metric` tile is ready. */
async function openAccount(id: string, metric: string): Promise<{ dashboard: Page; tile: (metric: string) => Promise<string | null> }> {
  const [from, to] = range();
  const dashboard = await openSignedIn(browser.context, api.baseUrl, stack.tokens.acme, `range=custom&from=${from}&to=${to}`);
  await dashboard.locator(`button.account-open[data-scope*='"account":"${id}"']`).click();
  await dashboard.waitForSelector(`.tiles-panel[data-state="ready"] .tile[data-metric="${metric}"]`);
  return { dashboard, tile: (metric) => dashboard.getAttribute(`.tile[data-metric="${metric}"]`, "data-value") };
}

/** An ad account linked through its consent page and synced: its tiles equal the fake's oracle. */
async function linkSyncAndCompare(consent: Consent): Promise<void> {
  const id = await linkThroughConsent(consent);
  const days = await syncAndOracle(consent.platform, id);
  const { dashboard, tile } = await openAccount(id, "spend");
  expect(Number(await tile("impressions"))).toBe(sum(days, "impressions"));
  expect(Number(await tile("clicks"))).toBe(sum(days, "clicks"));
  expect(Math.round(Number(await tile("spend")) * 1e6)).toBe(sum(days, "spend_micros"));
  if (consent.currency) expect(await dashboard.textContent('.tile[data-metric="spend"] .tile-value')).toContain(consent.currency);
  await screenshot(dashboard, `accounts-${consent.platform}-dashboard`);
  await dashboard.close();
}

/**
 * A Facebook Page or an Instagram account linked through Meta's dialog and
 * synced: its organic tiles equal the fake's oracle. Followers are a gauge,
 * the range's last day; Instagram keeps no follower history, so it shows no
 * followers tile.
 */
async function linkSyncAndCompareOrganic(consent: Consent): Promise<void> {
  const id = await linkThroughConsent(consent);
  const days = await syncAndOracle(consent.platform, id);
  const { dashboard, tile } = await openAccount(id, "follows");
  for (const metric of ["follows", "impressions", "profile_views", "engagements"] as const) {
    expect(Number(await tile(metric)), metric).toBe(sum(days, metric));
  }
  const last = days[days.length - 1].followers;
  if (last === null) expect(await dashboard.locator('.tile[data-metric="followers"]').count()).toBe(0);
  else expect(await tile("followers")).toBe(String(last));
  await screenshot(dashboard, `accounts-${consent.platform}-dashboard`);
  await dashboard.close();
}

/** Whole days every account timezone has finished, well inside the backfill. */
function range(): [string, string] {
  const day = (back: number) => new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10);
  return [day(40), day(3)];
}

/** The fake's oracle of `platform` for `account` at `level` over `range()`. */
async function oracleRows(platform: string, account: string, level: string): Promise<OracleRow[]> {
  const [from, to] = range();
  const url = `${process.env.ADHOUSE_DEV_PLATFORMS_URL}/_fake/${platform}/oracle?account=${account}&level=${level}&since=${from}&until=${to}`;
  return ((await (await fetch(url)).json()) as { rows: OracleRow[] }).rows;
}

function sum(rows: OracleRow[], field: keyof OracleRow): number {
  return rows.reduce((total, row) => total + Number(row[field]), 0);
}

/** A row of the fake's oracle (`/_fake/<platform>/oracle`). */
interface OracleRow {
  entity_id: string;
  entity_name: string;
  date: string;
  impressions: number;
  clicks: number;
  spend_micros: number;
  /** Organic accounts only; null where the platform keeps no history. */
  followers: number | null;
  follows: number;
  profile_views: number;
  engagements: number;
}
