// The dashboard's controller: signs in, keeps the page state (in the URL),
// asks the API for what a change affects, and decides what a failure means.
// The pieces it wires: session.ts (token and sign-in), state.ts (state rules
// and URL form), requests.ts (the two queries: the series for tiles and
// chart, the breakdown for the table), feed.ts (loading one panel), page.ts
// (drawing) and views/outage.ts (an outage and its retries).
//
// Failures (api.ts `failureOf`): only a 401 signs out. An outage (ClickHouse
// or the API down) keeps the token and is shown once for the page, which
// retries every RETRY_SECS and reloads everything when the service answers.
// A request at fault is told in its panel.

import "./style.css";

import { failureOf, type DiscrepancyRequest, type DiscrepancyResponse, type QueryRequest, type QueryResponse } from "./api";
import { Feed, type FeedResult } from "./feed";
import { ReportPage } from "./page";
import { breakdownRequest, discrepancyRequest, seriesRequest } from "./requests";
import { EXPIRED, forgetToken, openSession, REFUSED, SIGNED_OUT, storedToken, type Session } from "./session";
import { changeState, granularities, normalize, parseState, serializeState, type PageState } from "./state";
import { renderSignIn } from "./views/controls";
import { editFilter } from "./views/filters";
import { AccountsMenu, takePendingGrant } from "./views/accounts";
import { FeedsMenu } from "./views/feeds";
import { OutageNotice, renderOutageScreen } from "./views/outage";

const AUTO_REFRESH_MS = 60_000;

class Dashboard {
  /** A grant the platform's callback sent back (`?grant=`), opened once signed in. */
  private pendingGrant = takePendingGrant();
  private state: PageState = parseState(location.search);
  private session: Session | null = null;
  private page: ReportPage | null = null;
  private accounts: AccountsMenu | null = null;
  private feeds: FeedsMenu | null = null;
  /** The screen shown while signing in meets an outage. */
  private waiting: OutageNotice | null = null;
  private readonly series = new Feed<QueryRequest, QueryResponse>((client, request, signal) => client.query(request, signal));
  private readonly breakdown = new Feed<QueryRequest, QueryResponse>((client, request, signal) => client.query(request, signal));
  private readonly report = new Feed<DiscrepancyRequest, DiscrepancyResponse>((client, request, signal) => client.discrepancy(request, signal));
  private timer: number | undefined;
  /** Counts screens, so that a sign-in answered after the user moved on (signed out) is dropped. */
  private screen = 0;

  constructor(private readonly root: HTMLElement) {
    window.addEventListener("popstate", () => {
      this.state = parseState(location.search);
      if (this.session) this.update({ push: false });
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.state.autoRefresh && this.session) this.refresh();
    });
  }

  start(): void {
    const token = storedToken();
    if (token) void this.signIn(token);
    else this.showSignIn(null);
  }

  /** Stops whatever the current screen had running: loads, auto-refresh, retries. */
  private leave(): void {
    this.screen += 1;
    this.series.reset();
    this.breakdown.reset();
    this.report.reset();
    window.clearInterval(this.timer);
    this.page?.close();
    this.page = null;
    this.accounts?.close();
    this.accounts = null;
    this.feeds = null;
    this.waiting?.hide();
    this.waiting = null;
  }

  private showSignIn(message: string | null): void {
    this.leave();
    this.session = null;
    document.title = "Sign in · adhouse";
    renderSignIn(this.root, message, (token) => void this.signIn(token));
  }

  private async signIn(token: string): Promise<void> {
    const screen = this.screen;
    let session: Session;
    try {
      session = await openSession(token);
    } catch (error) {
      if (screen !== this.screen) return;
      if (failureOf(error) === "unauthorized") {
        forgetToken();
        this.showSignIn(REFUSED);
      } else {
        this.waitForService(token, error);
      }
      return;
    }
    if (screen !== this.screen) return;
    this.leave();
    this.session = session;
    this.page = new ReportPage(this.root, session.catalog, {
      change: (patch) => this.change(patch),
      refresh: () => this.refresh(),
      signOut: () => this.signOut(),
      openFilter: (index) => this.openFilter(index),
    });
    this.accounts = new AccountsMenu(session.client, () => this.expired(), (scope) => this.change({ scope }));
    this.page.accountsSlot.replaceChildren(this.accounts.element);
    void this.accounts.start(this.pendingGrant);
    this.pendingGrant = null;
    const page = this.page;
    this.feeds = new FeedsMenu(session.client, () => this.expired(), () => this.change({ discrepancy: true }), (feeds) => page.discrepancy.feeds(feeds));
    this.page.feedsSlot.replaceChildren(this.feeds.element);
    void this.feeds.reload();
    this.update({ push: false });
  }

  /** Signing in met an outage: the token is kept and tried again until the API answers. */
  private waitForService(token: string, error: unknown): void {
    if (!this.waiting) {
      this.waiting = renderOutageScreen(this.root, () => void this.signIn(token), () => this.signOut());
      document.title = "Waiting for the reporting service · adhouse";
    }
    this.waiting.show(error);
  }

  private signOut(): void {
    forgetToken();
    this.showSignIn(SIGNED_OUT);
  }

  /** The API refused the token mid-session: back to sign-in, saying why. */
  private expired(): void {
    forgetToken();
    this.showSignIn(EXPIRED);
  }

  private change(patch: Partial<PageState>): void {
    this.state = changeState(this.state, patch, this.session!.catalog);
    this.update({ push: true });
  }

  /** Reloads everything: sources and both panels. */
  private refresh(): void {
    this.update({ push: false, force: true });
  }

  /**
   * Shows the state: URL, controls, and each panel's data (fetched only if its
   * request changed; `force` refetches everything, the sources too).
   */
  private update({ push, force = false }: { push: boolean; force?: boolean }): void {
    const session = this.session!;
    this.state = normalize(this.state, session.catalog);
    const { valid, chosen } = granularities(this.state, session.catalog);

    const query = serializeState(this.state);
    const url = `${location.pathname}${query ? "?" + query : ""}`;
    if (url !== location.pathname + location.search) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
    const page = this.page!;
    page.controls(this.state, valid, chosen, session.sources);
    this.accounts?.highlight(this.state.scope);
    this.feeds?.highlight(this.state.discrepancy);

    window.clearInterval(this.timer);
    if (this.state.autoRefresh) this.timer = window.setInterval(() => this.refresh(), AUTO_REFRESH_MS);

    if (this.state.discrepancy) {
      if (force) void this.feeds?.reload();
      const view = page.discrepancy;
      const report = this.load(this.report, discrepancyRequest(this.state, chosen), force, {
        loading: () => view.loading(),
        show: (response) => view.show(response),
        failed: (error) => view.failed(String(error)),
      });
      void this.settle(page, [report]);
      return;
    }
    const loads = [
      this.load(this.series, seriesRequest(this.state, chosen), force, {
        loading: () => page.seriesLoading(this.state),
        show: (response) => page.series(this.state, response),
        failed: (error) => page.seriesFailed(this.state, error),
      }),
      this.load(this.breakdown, breakdownRequest(this.state), force, {
        loading: () => page.breakdownLoading(this.state),
        show: (response) => page.breakdown(this.state, response),
        failed: (error) => page.breakdownFailed(error),
      }),
    ];
    if (force) loads.push(this.loadSources(session, page));
    void this.settle(page, loads);
    void this.loadFreshness(session, page);
  }

  /** The "data as of" label; a failure leaves the last one (the panels tell the outage). */
  private async loadFreshness(session: Session, page: ReportPage): Promise<void> {
    try {
      const { latest_event_at, lookback_days } = await session.client.freshness();
      const timezone = this.state.timezone ?? this.series.response?.meta.time_range.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (page === this.page) page.freshness(this.state, latest_event_at, lookback_days, timezone);
    } catch {
      // Shown by the series' own failure.
    }
  }

  /** Once the loads of one update are done: sign out on a 401, show or end an outage. */
  private async settle(page: ReportPage, loads: Promise<FeedResult>[]): Promise<void> {
    const results = await Promise.all(loads);
    if (page !== this.page) return;
    const errors = results.flatMap((result) => (result.kind === "error" ? [result.error] : []));
    if (errors.some((error) => failureOf(error) === "unauthorized")) {
      this.expired();
      return;
    }
    const outage = errors.find((error) => failureOf(error) === "outage");
    if (outage !== undefined) page.showOutage(outage);
    // A superseded load belongs to a newer update, which settles for itself.
    else if (results.every((result) => result.kind !== "superseded")) page.hideOutage();
  }

  private async loadSources(session: Session, page: ReportPage): Promise<FeedResult> {
    try {
      session.sources = await session.client.sources();
    } catch (error) {
      return { kind: "error", error };
    }
    page.sources(this.state, session.sources);
    return { kind: "render" };
  }

  private openFilter(index: number | null): void {
    const initial = index === null ? null : this.state.filters[index];
    editFilter(this.page!.dialog, this.session!.client, this.session!.catalog, initial, (filter) => {
      const filters = [...this.state.filters];
      if (index === null) filters.push(filter);
      else filters[index] = filter;
      this.change({ filters });
    });
  }

  /** Loads one panel's data and has the page draw what came of it; a 401 is left to `settle`. */
  private async load<Request, Response>(feed: Feed<Request, Response>, request: Request, force: boolean, panel: Panel<Response>): Promise<FeedResult> {
    const result = await feed.load(this.session!.client, request, force, panel.loading);
    if (result.kind === "error" && failureOf(result.error) !== "unauthorized") panel.failed(result.error);
    if (result.kind === "render" && feed.response) panel.show(feed.response);
    return result;
  }
}

/** How the page draws one panel; it reads the page state when it draws. */
interface Panel<Response> {
  loading: () => void;
  show: (response: Response) => void;
  failed: (error: unknown) => void;
}

new Dashboard(document.getElementById("app")!).start();
