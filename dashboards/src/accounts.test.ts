import { describe, expect, test } from "vitest";

import { ApiProblem, type LinkedAccount } from "./api";
import { currencyViews, isBackfilling, linkingMessage, progressPercent } from "./views/accounts";

const account = (status: LinkedAccount["status"], days_done: number, days_total: number): LinkedAccount => ({
  platform: "meta",
  id: "1001",
  name: "Demo US",
  currency: "USD",
  timezone: "America/New_York",
  status,
  linked_at: "2026-12-01T10:00:00Z",
  last_sync_at: null,
  last_error: "",
  backfill: { since: "2025-12-01", until: "2026-11-30", days_done, days_total },
});

describe("ad accounts menu", () => {
  test("an active account is backfilling until every day of its range is fetched; one needing a re-link is not", () => {
    expect(isBackfilling(account("active", 0, 365))).toBe(true);
    expect(isBackfilling(account("active", 365, 365))).toBe(false);
    expect(isBackfilling(account("needs_relink", 10, 365))).toBe(false);
    expect(progressPercent(account("active", 73, 365))).toBe(20);
    expect(progressPercent(account("active", 0, 0))).toBe(100);
  });

  test("one All-accounts view per currency, none for organic accounts, which have no currency", () => {
    const page = { ...account("active", 1, 1), platform: "facebook", id: "5001", currency: "" };
    const euros = { ...account("active", 1, 1), id: "1002", currency: "EUR" };
    expect(currencyViews([account("active", 1, 1), page, euros, account("active", 2, 2)])).toEqual(["EUR", "USD"]);
  });

  test("failures are told in a marketer's words", () => {
    expect(linkingMessage(new ApiProblem(404, "not_found", "Not found", "no such grant"), "link the accounts")).toMatch(/expired.*Connect account/);
    expect(linkingMessage(new ApiProblem(503, "clickhouse_unavailable", "ClickHouse unavailable", "x"), "link the accounts")).toBe(
      "adhouse could not link the accounts right now. Please try again in a minute.",
    );
    expect(linkingMessage(new ApiProblem(401, "invalid_token", "Invalid", "x"), "start connecting")).toMatch(/Sign in again/);
    expect(linkingMessage(new ApiProblem(400, "invalid_value", "Invalid value", "choose 1 to 200 accounts"), "link the accounts")).toBe(
      "adhouse could not link the accounts. choose 1 to 200 accounts",
    );
  });
});
