// The dashboard's controller: signs in, keeps the page state (in the URL),
// and asks the API for what a change affects. The pieces it wires:
// session.ts (token and sign-in), state.ts (state rules and URL form),
// requests.ts (the two queries: the series for tiles and chart, the
// breakdown for the table), feed.ts (loading one panel) and page.ts (drawing).

import "./style.css";

import type { QueryRequest, QueryResponse } from "./api";
import { Feed } from "./feed";
import { ReportPage } from "./page";
import { breakdownRequest, seriesRequest } from "./requests";
import { EXPIRED, forgetToken, isUnauthorized, openSession, SIGNED_OUT, signInError, storedToken, type Session } from "./session";
import { changeState, granularities, normalize, parseState, serializeState, type PageState } from "./state";
import { renderSignIn } from "./views/controls";
import { editFilter } from "./views/filters";

const AUTO_REFRESH_MS = 60_000;

class Dashboard {
  private state: PageState = parseState(location.search);
  private session: Session | null = null;
  private page: ReportPage | null = null;
  private readonly series = new Feed();
  private readonly breakdown = new Feed();
  private timer: number | undefined;

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

  private showSignIn(message: string | null): void {
    this.session = null;
    this.page = null;
    this.series.reset();
    this.breakdown.reset();
    window.clearInterval(this.timer);
    document.title = "Sign in · adhouse";
    renderSignIn(this.root, message, (token) => void this.signIn(token));
  }

  private async signIn(token: string): Promise<void> {
    try {
      this.session = await openSession(token);
    } catch (error) {
      forgetToken();
      this.showSignIn(signInError(error));
      return;
    }
    this.page = new ReportPage(this.root, this.session.catalog, {
      change: (patch) => this.change(patch),
      refresh: () => this.refresh(),
      signOut: () => this.signOut(),
      openFilter: (index) => this.openFilter(index),
    });
    this.update({ push: false });
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

  private refresh(): void {
    void this.loadSources();
    this.update({ push: false, force: true });
  }

  private async loadSources(): Promise<void> {
    const session = this.session!;
    try {
      session.sources = await session.client.sources();
      this.page?.sources(this.state, session.sources);
    } catch (error) {
      if (isUnauthorized(error)) this.expired();
    }
  }

  /** Shows the state: URL, controls, and each panel's data (fetched only if its request changed, or `force`). */
  private update({ push, force = false }: { push: boolean; force?: boolean }): void {
    const { catalog, sources } = this.session!;
    this.state = normalize(this.state, catalog);
    const { valid, chosen } = granularities(this.state, catalog);

    const query = serializeState(this.state);
    const url = `${location.pathname}${query ? "?" + query : ""}`;
    if (url !== location.pathname + location.search) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
    const page = this.page!;
    page.controls(this.state, valid, chosen, sources);

    window.clearInterval(this.timer);
    if (this.state.autoRefresh) this.timer = window.setInterval(() => this.refresh(), AUTO_REFRESH_MS);

    void this.load(this.series, seriesRequest(this.state, chosen), force, {
      loading: () => page.seriesLoading(),
      show: (response) => page.series(this.state, response, chosen),
      failed: (error) => page.seriesFailed(this.state, error),
    });
    void this.load(this.breakdown, breakdownRequest(this.state), force, {
      loading: () => page.breakdownLoading(),
      show: (response) => page.breakdown(this.state, response),
      failed: (error) => page.breakdownFailed(error),
    });
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

  /** Loads one panel's data and has the page draw what came of it. */
  private async load(feed: Feed, request: QueryRequest, force: boolean, panel: Panel): Promise<void> {
    const result = await feed.load(this.session!.client, request, force, panel.loading);
    if (result.kind === "superseded") return;
    if (result.kind === "error") {
      if (isUnauthorized(result.error)) this.expired();
      else panel.failed(result.error);
      return;
    }
    if (feed.response) panel.show(feed.response);
  }
}

/** How the page draws one panel; it reads the page state when it draws. */
interface Panel {
  loading: () => void;
  show: (response: QueryResponse) => void;
  failed: (error: unknown) => void;
}

new Dashboard(document.getElementById("app")!).start();
