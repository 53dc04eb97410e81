// The dashboard: signs in, keeps the page state in the URL, and asks the API
// for what changed. Two queries feed the page (requests.ts): the series
// (tiles and chart) and the breakdown (table).

import "./style.css";

import { ApiClient, ApiProblem, type Catalog, type QueryRequest, type QueryResponse, type ValuesResponse } from "./api";
import { fill, h, setPanelState } from "./dom";
import { formatDay } from "./format";
import { breakdownRequest, seriesRequest } from "./requests";
import { parseState, serializeState, type PageState } from "./state";
import { addDays, defaultGranularity, rangeDays, validGranularities } from "./time";
import { breakdownCsv, download, renderBreakdown } from "./views/breakdown";
import { SeriesChart, seriesView } from "./views/chart";
import { renderSidebar, renderSignIn, renderTopBar } from "./views/controls";
import { editFilter, renderChips } from "./views/filters";
import { renderTiles } from "./views/tiles";

const TOKEN_KEY = "adhouse.token";
const AUTO_REFRESH_MS = 60_000;

/** One panel's data: the request it shows, and the request in flight. */
class Feed {
  private shownKey: string | null = null;
  private inFlight: AbortController | null = null;
  response: QueryResponse | null = null;

  /**
   * Fetches unless `request` is what the panel already shows (`force`
   * refetches). `render` means the panel should show `response` now;
   * `superseded` that a newer call owns the panel.
   */
  async load(
    client: ApiClient,
    request: QueryRequest,
    force: boolean,
    onStart: () => void,
  ): Promise<{ kind: "render" } | { kind: "superseded" } | { kind: "error"; error: unknown }> {
    const key = JSON.stringify(request);
    if (!force && key === this.shownKey) return this.inFlight ? { kind: "superseded" } : { kind: "render" };
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    this.shownKey = key;
    onStart();
    try {
      const response = await client.query(request, abort.signal);
      if (abort.signal.aborted) return { kind: "superseded" };
      this.inFlight = null;
      this.response = response;
      return { kind: "render" };
    } catch (error) {
      if (abort.signal.aborted) return { kind: "superseded" };
      this.inFlight = null;
      this.shownKey = null;
      this.response = null;
      return { kind: "error", error };
    }
  }

  reset(): void {
    this.inFlight?.abort();
    this.inFlight = null;
    this.shownKey = null;
    this.response = null;
  }
}

class Dashboard {
  private state: PageState = parseState(location.search);
  private client: ApiClient | null = null;
  private catalog: Catalog | null = null;
  private sources: ValuesResponse | null = null;
  private readonly series = new Feed();
  private readonly breakdown = new Feed();
  private chart: SeriesChart | null = null;
  private timer: number | undefined;
  private elements!: {
    sidebar: HTMLElement;
    topbar: HTMLElement;
    chips: HTMLElement;
    range: HTMLElement;
    tilesPanel: HTMLElement;
    tiles: HTMLElement;
    chartPanel: HTMLElement;
    chartMessage: HTMLElement;
    chartTitle: HTMLElement;
    tablePanel: HTMLElement;
    table: HTMLTableElement;
    tableMessage: HTMLElement;
    breakdownSelect: HTMLSelectElement;
    csv: HTMLButtonElement;
    dialog: HTMLDialogElement;
    banner: HTMLElement;
  };

  constructor(private readonly root: HTMLElement) {
    window.addEventListener("popstate", () => {
      this.state = parseState(location.search);
      if (this.client) this.update({ push: false });
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.state.autoRefresh && this.client) this.refresh();
    });
  }

  start(): void {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) void this.signIn(token);
    else this.showSignIn(null);
  }

  private showSignIn(message: string | null): void {
    this.client = null;
    this.series.reset();
    this.breakdown.reset();
    this.chart = null;
    window.clearInterval(this.timer);
    document.title = "Sign in · adhouse";
    renderSignIn(this.root, message, (token) => void this.signIn(token));
  }

  private async signIn(token: string): Promise<void> {
    const client = new ApiClient(token);
    try {
      // The catalog is public; the sources prove the token.
      const [catalog, sources] = await Promise.all([client.catalog(), client.sources()]);
      sessionStorage.setItem(TOKEN_KEY, token);
      this.client = client;
      this.catalog = catalog;
      this.sources = sources;
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      this.showSignIn(this.describeSignInError(err));
      return;
    }
    this.layout();
    this.update({ push: false });
  }

  private describeSignInError(err: unknown): string {
    if (err instanceof ApiProblem && err.unauthorized) {
      return "This API token was not accepted: it is unknown, mistyped or has been revoked. Sign in with a valid token.";
    }
    return `Could not sign in: ${err instanceof Error ? err.message : String(err)}`;
  }

  private signOut(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.showSignIn("You have signed out.");
  }

  /** The API refused the token mid-session: back to sign-in, saying why. */
  private expired(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.showSignIn("Your session ended: the API no longer accepts this token (401). Sign in again.");
  }

  private layout(): void {
    const catalog = this.catalog!;
    const breakdownSelect = h(
      "select",
      { id: "breakdown-dimension", onchange: () => this.change({ breakdown: breakdownSelect.value }) },
      ...catalog.dimensions.map((dimension) => h("option", { value: dimension.name }, dimension.label)),
    );
    const elements = {
      sidebar: h("ul", { class: "sources", "aria-label": "Sources" }),
      topbar: h("div", { class: "controls", role: "toolbar", "aria-label": "Report settings" }),
      chips: h("ul", { class: "chips", "aria-label": "Filters" }),
      range: h("p", { class: "range-caption muted", "aria-live": "polite" }),
      tilesPanel: h("section", { class: "panel tiles-panel", "aria-label": "Key metrics" }),
      tiles: h("div", { class: "tiles" }),
      chartPanel: h("section", { class: "panel chart-panel", "aria-labelledby": "chart-title" }),
      chartMessage: h("div", { class: "panel-message", role: "status" }),
      chartTitle: h("h2", { id: "chart-title" }),
      tablePanel: h("section", { class: "panel table-panel", "aria-labelledby": "table-title" }),
      table: h("table", { class: "breakdown", id: "breakdown" }),
      tableMessage: h("div", { class: "panel-message", role: "status" }),
      breakdownSelect,
      csv: h("button", { type: "button", id: "download-csv", class: "secondary" }, "Download CSV"),
      dialog: h("dialog", { class: "filter-dialog", "aria-label": "Filter" }),
      banner: h("div", { class: "banner", role: "alert", hidden: true }),
    };
    this.elements = elements;
    elements.csv.addEventListener("click", () => this.downloadCsv());

    const figure = h("figure", { class: "chart", id: "chart" });
    const canvas = h("canvas", { role: "img" });
    figure.append(canvas);
    this.chart = new SeriesChart(figure, canvas);
    elements.tilesPanel.append(elements.tiles);
    elements.chartPanel.append(h("header", { class: "panel-head" }, elements.chartTitle), figure, elements.chartMessage);
    elements.tablePanel.append(
      h(
        "header",
        { class: "panel-head" },
        h("h2", { id: "table-title" }, "Breakdown"),
        h("span", { class: "field" }, h("label", { for: "breakdown-dimension" }, "by"), breakdownSelect),
        elements.csv,
      ),
      h("div", { class: "table-scroll" }, elements.table),
      elements.tableMessage,
    );

    fill(
      this.root,
      h("a", { class: "skip-link", href: "#content" }, "Skip to report"),
      h(
        "div",
        { class: "shell" },
        h(
          "nav",
          { class: "sidebar", "aria-label": "Data" },
          h("div", { class: "brand" }, "adhouse"),
          h("h2", { class: "sidebar-heading" }, "Log sources"),
          elements.sidebar,
          h("button", { type: "button", id: "sign-out", class: "secondary sign-out", onclick: () => this.signOut() }, "Sign out"),
        ),
        h(
          "main",
          { class: "content", id: "content", tabindex: "-1" },
          h("header", { class: "topbar" }, elements.topbar),
          h("div", { class: "filter-row" }, elements.chips, elements.range),
          elements.banner,
          elements.tilesPanel,
          elements.chartPanel,
          elements.tablePanel,
        ),
      ),
      elements.dialog,
    );
  }

  private change(patch: Partial<PageState>): void {
    const next = { ...this.state, ...patch };
    // A new range keeps its granularity only if still valid (normalize decides).
    if (patch.range) next.granularity = null;
    if (patch.breakdown && this.state.sort.field === this.state.breakdown) next.sort = { field: next.metrics[0], direction: "desc" };
    if (patch.metrics) {
      if (!next.metrics.includes(next.chartMetric)) next.chartMetric = next.metrics[0];
      if (!next.metrics.includes(next.sort.field) && next.sort.field !== next.breakdown) next.sort = { field: next.metrics[0], direction: "desc" };
    }
    this.state = next;
    this.update({ push: true });
  }

  private refresh(): void {
    void this.loadSources();
    this.update({ push: false, force: true });
  }

  private async loadSources(): Promise<void> {
    try {
      this.sources = await this.client!.sources();
      renderSidebar(this.elements.sidebar, this.sources, this.state.source, (source) => this.change({ source }));
    } catch (err) {
      if (err instanceof ApiProblem && err.unauthorized) this.expired();
    }
  }

  /** The granularities this range allows, and the one in use. */
  private granularity(): { valid: string[]; chosen: string } {
    const maxDays = Object.fromEntries(this.catalog!.granularities.map((entry) => [entry.name, entry.max_range_days]));
    const days = rangeDays(this.state.range);
    const valid = validGranularities(days, maxDays);
    const chosen = this.state.granularity && valid.includes(this.state.granularity) ? this.state.granularity : defaultGranularity(days, valid);
    return { valid, chosen };
  }

  private update({ push, force = false }: { push: boolean; force?: boolean }): void {
    const catalog = this.catalog!;
    const known = new Set(catalog.metrics.map((metric) => metric.name));
    this.state.metrics = this.state.metrics.filter((name) => known.has(name));
    if (this.state.metrics.length === 0) this.state.metrics = parseState("").metrics;
    if (!this.state.metrics.includes(this.state.chartMetric)) this.state.chartMetric = this.state.metrics[0];
    if (!catalog.dimensions.some((dimension) => dimension.name === this.state.breakdown)) this.state.breakdown = "publisher_id";
    if (!this.state.metrics.includes(this.state.sort.field) && this.state.sort.field !== this.state.breakdown) {
      this.state.sort = { field: this.state.metrics[0], direction: "desc" };
    }
    const { valid, chosen } = this.granularity();
    // Only a granularity the user picked goes into the URL; the default follows the range.
    this.state.granularity = this.state.granularity === chosen ? chosen : null;

    const query = serializeState(this.state);
    const url = `${location.pathname}${query ? "?" + query : ""}`;
    if (url !== location.pathname + location.search) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
    document.title = `${catalog.metrics.find((metric) => metric.name === this.state.chartMetric)?.label ?? "Report"} · adhouse`;

    const e = this.elements;
    renderTopBar(e.topbar, this.state, catalog, valid, chosen, {
      change: (patch) => this.change(patch),
      refresh: () => this.refresh(),
    });
    renderSidebar(e.sidebar, this.sources, this.state.source, (source) => this.change({ source }));
    renderChips(
      e.chips,
      this.state.filters,
      catalog,
      (index) => this.openFilter(index),
      (index) => this.change({ filters: this.state.filters.filter((_, i) => i !== index) }),
      () => this.openFilter(null),
    );
    e.breakdownSelect.value = this.state.breakdown;

    window.clearInterval(this.timer);
    if (this.state.autoRefresh) this.timer = window.setInterval(() => this.refresh(), AUTO_REFRESH_MS);

    void this.loadSeries(seriesRequest(this.state, chosen), chosen, force);
    void this.loadBreakdown(breakdownRequest(this.state), force);
  }

  private openFilter(index: number | null): void {
    const initial = index === null ? null : this.state.filters[index];
    editFilter(this.elements.dialog, this.client!, this.catalog!, initial, (filter) => {
      const filters = [...this.state.filters];
      if (index === null) filters.push(filter);
      else filters[index] = filter;
      this.change({ filters });
    });
  }

  private async loadSeries(request: QueryRequest, granularity: string, force: boolean): Promise<void> {
    const e = this.elements;
    const result = await this.series.load(this.client!, request, force, () => {
      setPanelState(e.tilesPanel, "loading");
      setPanelState(e.chartPanel, "loading");
      e.chartMessage.textContent = "Loading…";
    });
    if (result.kind === "superseded") return;
    if (result.kind === "error") {
      this.showError(result.error, [e.tilesPanel, e.chartPanel], e.chartMessage);
      renderTiles(e.tiles, this.state, this.catalog!, null, (metric) => this.change({ chartMetric: metric }), "—");
      return;
    }
    const response = this.series.response;
    if (!response) return;
    // Also when nothing was fetched: the chart metric or the currency may have changed.
    const empty = Object.values(response.totals).every((value) => value === null || value === 0);
    renderTiles(e.tiles, this.state, this.catalog!, response, (metric) => this.change({ chartMetric: metric }));
    const metric = this.catalog!.metrics.find((entry) => entry.name === this.state.chartMetric)!;
    e.chartTitle.textContent = `${metric.label} by ${granularity}`;
    const range = response.meta.time_range;
    const previous = response.comparison?.time_range;
    e.range.textContent =
      `${spanText(range.from, range.to)} (${range.timezone})` + (previous ? ` compared with ${spanText(previous.from, previous.to)}` : "");
    this.chart!.show(seriesView(response, metric.name, response.meta.granularity), metric.label, metric.unit, this.state.currency);
    e.chartMessage.textContent = empty
      ? "No data for this period and these filters. Try a longer date range, another source, or fewer filters."
      : "";
    setPanelState(e.tilesPanel, empty ? "empty" : "ready");
    setPanelState(e.chartPanel, empty ? "empty" : "ready");
  }

  private async loadBreakdown(request: QueryRequest, force: boolean): Promise<void> {
    const e = this.elements;
    const result = await this.breakdown.load(this.client!, request, force, () => {
      setPanelState(e.tablePanel, "loading");
      e.tableMessage.textContent = "Loading…";
    });
    if (result.kind === "superseded") return;
    if (result.kind === "error") {
      this.showError(result.error, [e.tablePanel], e.tableMessage);
      e.table.replaceChildren();
      return;
    }
    const response = this.breakdown.response;
    if (!response) return;
    renderBreakdown(e.table, this.state, this.catalog!, response, { onSort: (sort) => this.change({ sort }) });
    const empty = response.rows.length === 0;
    e.csv.disabled = empty;
    e.tableMessage.textContent = empty ? "No rows: nothing matches this period and these filters." : "";
    setPanelState(e.tablePanel, empty ? "empty" : "ready");
  }

  private showError(error: unknown, panels: HTMLElement[], message: HTMLElement): void {
    if (error instanceof ApiProblem && error.unauthorized) {
      this.expired();
      return;
    }
    for (const panel of panels) setPanelState(panel, "error");
    const text = error instanceof ApiProblem ? `${error.title}: ${error.detail}` : `Something went wrong: ${String(error)}`;
    fill(
      message,
      h("span", { class: "form-error" }, text),
      " ",
      h("button", { type: "button", class: "secondary", onclick: () => this.refresh() }, "Try again"),
    );
  }

  private downloadCsv(): void {
    const response = this.breakdown.response;
    if (!response) return;
    const range = response.meta.time_range;
    download(`adhouse-${this.state.breakdown}-${range.from.slice(0, 10)}-${range.to.slice(0, 10)}.csv`, breakdownCsv(response));
  }
}

/** `[from, to)` as the days it covers: `May 4, 2026 – May 10, 2026`. */
function spanText(from: string, to: string): string {
  const lastDay = to.slice(11, 19) === "00:00:00" ? addDays(to.slice(0, 10), -1) + to.slice(10) : to;
  const first = formatDay(from);
  const last = formatDay(lastDay);
  return first === last ? first : `${first} – ${last}`;
}

new Dashboard(document.getElementById("app")!).start();
