// The report page: its layout, and each panel drawn from the page state and
// the API's answers. It decides nothing about what to load or when; the
// handlers it is given do.

import { ApiProblem, failureOf, type Catalog, type QueryResponse, type ValuesResponse } from "./api";
import { fill, h, setPanelState } from "./dom";
import { formatDay } from "./format";
import { catalogFor, currencyOf, datasetOf, type PageState } from "./state";
import { addDays, GRANULARITY_LABELS, PRESETS } from "./time";
import { breakdownCsv, download, renderBreakdown, renderBreakdownSkeleton, saveAs } from "./views/breakdown";
import { SeriesChart, seriesView } from "./views/chart";
import { renderSidebar, renderTopBar } from "./views/controls";
import { renderChips } from "./views/filters";
import { DiscrepancyView } from "./views/discrepancy";
import { OutageNotice } from "./views/outage";
import { renderTiles } from "./views/tiles";

export interface PageHandlers {
  change: (patch: Partial<PageState>) => void;
  refresh: () => void;
  signOut: () => void;
  openFilter: (index: number | null) => void;
}

export class ReportPage {
  private readonly sidebar = h("ul", { class: "sources", "aria-label": "Sources" });
  private readonly topbar = h("div", { class: "controls", role: "toolbar", "aria-label": "Report settings" });
  private readonly chips = h("ul", { class: "chips", "aria-label": "Filters" });
  private readonly range = h("p", { class: "range-caption muted", "aria-live": "polite" });
  private readonly asOf = h("p", { class: "freshness muted", id: "freshness" });
  private readonly tilesPanel = h("section", { class: "panel tiles-panel", "aria-label": "Key metrics" });
  private readonly tiles = h("div", { class: "tiles" });
  private readonly chartPanel = h("section", { class: "panel chart-panel", "aria-labelledby": "chart-title" });
  private readonly chartMessage = h("div", { class: "panel-message", role: "status" });
  private readonly chartTitle = h("h2", { id: "chart-title" });
  private readonly tablePanel = h("section", { class: "panel table-panel", "aria-labelledby": "table-title" });
  private readonly table = h("table", { class: "breakdown", id: "breakdown" });
  private readonly tableMessage = h("div", { class: "panel-message", role: "status" });
  private readonly tableScroll = h("div", { class: "table-scroll" }, this.table);
  /** Shown while the table is wider than its panel (phones): more columns are a swipe away. */
  private readonly scrollHint = h("p", { class: "scroll-hint muted", hidden: true }, "Swipe sideways for more columns →");
  private readonly breakdownSelect: HTMLSelectElement;
  private readonly csv = h("button", { type: "button", id: "download-csv", class: "secondary" }, "Download CSV");
  readonly dialog = h("dialog", { class: "filter-dialog", "aria-label": "Filter" });
  /** Where the controller puts the ad accounts menu (views/accounts.ts). */
  readonly accountsSlot = h("div", { class: "accounts-slot" });
  /** Where the controller puts the partner feeds menu (views/feeds.ts). */
  readonly feedsSlot = h("div", { class: "feeds-slot" });
  /** The discrepancy report, shown instead of tiles, chart and table (and only then in the page). */
  readonly discrepancy = new DiscrepancyView();
  private readonly outage: OutageNotice;
  private readonly chart: SeriesChart;
  private readonly figure = h("figure", { class: "chart", id: "chart" });
  private readonly shell = h("div", { class: "shell", "data-menu": "closed" });
  /** The phone bar's button: what the report shows, in a few words; it opens the settings. */
  private readonly menuButton = h("button", { type: "button", id: "menu-toggle", class: "secondary", "aria-expanded": "false", "aria-controls": "sidebar topbar" });
  /** The table as shown, for its CSV. */
  private shownTable: { breakdown: string; response: QueryResponse; state: PageState } | null = null;

  constructor(
    root: HTMLElement,
    private readonly catalog: Catalog,
    private readonly handlers: PageHandlers,
  ) {
    this.breakdownSelect = h("select", { id: "breakdown-dimension", onchange: () => handlers.change({ breakdown: this.breakdownSelect.value }) });
    this.csv.addEventListener("click", () => this.downloadCsv());
    this.outage = new OutageNotice(h("div", { class: "banner", role: "alert" }), handlers.refresh);

    const figure = this.figure;
    const canvas = h("canvas", { role: "img" });
    figure.append(canvas);
    this.chart = new SeriesChart(figure, canvas);
    this.tilesPanel.append(this.tiles);
    const png = h("button", { type: "button", id: "download-png", class: "secondary", onclick: () => this.downloadPng() }, "Download PNG");
    this.chartPanel.append(h("header", { class: "panel-head" }, this.chartTitle, png), figure, this.chartMessage);
    this.tablePanel.append(
      h(
        "header",
        { class: "panel-head" },
        h("h2", { id: "table-title" }, "Breakdown"),
        h("span", { class: "field" }, h("label", { for: "breakdown-dimension" }, "by"), this.breakdownSelect),
        this.csv,
      ),
      this.tableScroll,
      this.scrollHint,
      this.tableMessage,
    );

    this.menuButton.addEventListener("click", () => this.toggleMenu());
    new ResizeObserver(() => this.syncScrollHint()).observe(this.tableScroll);
    fill(
      root,
      h("a", { class: "skip-link", href: "#content" }, "Skip to report"),
      this.shell,
      this.dialog,
    );
    this.shell.append(
      // Phones: sources, accounts and the report's settings fold into this one bar, so the tiles come first.
      h("div", { class: "phone-bar" }, h("span", { class: "brand" }, "adhouse"), this.menuButton),
        h(
          "nav",
          { class: "sidebar", id: "sidebar", "aria-label": "Data" },
          h("div", { class: "brand" }, "adhouse"),
          h("h2", { class: "sidebar-heading" }, "Log sources"),
          this.sidebar,
          this.accountsSlot,
          this.feedsSlot,
          h("button", { type: "button", id: "sign-out", class: "secondary sign-out", onclick: () => handlers.signOut() }, "Sign out"),
        ),
        h(
          "main",
          { class: "content", id: "content", tabindex: "-1" },
          h("header", { class: "topbar", id: "topbar" }, this.topbar),
          h("div", { class: "filter-row" }, this.chips, h("div", { class: "captions" }, this.range, this.asOf)),
          this.outage.element,
          this.tilesPanel,
          this.chartPanel,
          this.tablePanel,
        ),
    );
  }

  /** Everything but the data panels: title, top bar, sidebar, filter chips and the breakdown's dimension. */
  controls(state: PageState, granularities: string[], granularity: string, sources: ValuesResponse | null): void {
    const catalog = catalogFor(this.catalog, state);
    document.title = `${catalog.metrics.find((metric) => metric.name === state.chartMetric)?.label ?? "Report"} · adhouse`;
    renderTopBar(this.topbar, state, catalog, granularities, granularity, { change: this.handlers.change, refresh: this.handlers.refresh });
    const charted = catalog.metrics.find((entry) => entry.name === state.chartMetric);
    this.chartTitle.textContent = `${charted?.label ?? state.chartMetric} by ${granularity}`;
    this.menuButton.textContent = `${summaryOf(state, sources)} · ${GRANULARITY_LABELS[granularity] ?? granularity} ▾`;
    this.sources(state, sources);
    renderChips(
      this.chips,
      state.filters,
      catalog,
      (index) => this.handlers.openFilter(index),
      (index) => this.handlers.change({ filters: state.filters.filter((_, i) => i !== index) }),
      () => this.handlers.openFilter(null),
    );
    // Log dimensions filter by value lists; an account view is filtered by its account.
    this.chips.hidden = datasetOf(state) === "platforms" || state.discrepancy;
    for (const panel of [this.tilesPanel, this.chartPanel, this.tablePanel]) panel.hidden = state.discrepancy;
    // In the page only while shown: the report's panels are the page's panels otherwise.
    if (!state.discrepancy) this.discrepancy.element.remove();
    else if (!this.discrepancy.element.isConnected) this.tablePanel.after(this.discrepancy.element);
    this.syncActions();
    if (this.breakdownSelect.dataset.dataset !== datasetOf(state)) {
      fill(this.breakdownSelect, ...catalog.dimensions.map((dimension) => h("option", { value: dimension.name }, dimension.label)));
      this.breakdownSelect.dataset.dataset = datasetOf(state);
    }
    this.breakdownSelect.value = state.breakdown;
  }

  sources(state: PageState, sources: ValuesResponse | null): void {
    renderSidebar(this.sidebar, sources, state.scope ? undefined : state.source, (source) => this.handlers.change({ source }));
  }

  /**
   * "Data as of 13:05": the newest event's local time (in the page's
   * timezone), or that none came in lately; hidden for ad accounts, whose
   * menu tells their last sync.
   */
  freshness(state: PageState, latest: string | null, lookbackDays: number, timezone: string): void {
    this.asOf.hidden = state.scope !== null;
    if (latest === null) {
      this.asOf.textContent = `No new events in the last ${lookbackDays} days`;
      return;
    }
    const time = new Intl.DateTimeFormat("en-US", { timeZone: timezone, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    this.asOf.textContent = `Data as of ${time.format(new Date(latest))}`;
    this.asOf.dataset.latest = latest;
  }

  /**
   * While loading, what is shown stays (dimmed); with nothing shown yet, or
   * other tiles asked for, placeholders of the same size take its place, so
   * the page does not jump when the numbers arrive. Screen readers hear
   * `aria-busy`.
   */
  seriesLoading(state: PageState): void {
    setPanelState(this.tilesPanel, "loading");
    setPanelState(this.chartPanel, "loading");
    this.chartMessage.replaceChildren();
    const shown = [...this.tiles.querySelectorAll<HTMLElement>(".tile")].map((tile) => tile.dataset.metric);
    if (shown.join() !== state.metrics.join() || this.tiles.querySelector(".tile[data-value]") === null) {
      const catalog = catalogFor(this.catalog, state);
      renderTiles(this.tiles, state, catalog, null, (metric) => this.handlers.change({ chartMetric: metric }), currencyOf(state, null));
    }
    this.figure.classList.toggle("skeleton", !this.chart.drawn);
  }

  /** Tiles, chart and the range caption. Also when nothing was fetched: the chart metric or the currency may have changed. */
  series(state: PageState, response: QueryResponse): void {
    const empty = Object.values(response.totals).every((value) => value === null || value === 0);
    const catalog = catalogFor(this.catalog, state);
    const currency = currencyOf(state, response);
    renderTiles(this.tiles, state, catalog, response, (metric) => this.handlers.change({ chartMetric: metric }), currency);
    const metric = catalog.metrics.find((entry) => entry.name === state.chartMetric)!;
    const range = response.meta.time_range;
    const previous = response.comparison?.time_range;
    this.range.textContent =
      `${spanText(range.from, range.to)} (${range.timezone})` + (previous ? ` compared with ${spanText(previous.from, previous.to)}` : "");
    this.chart.show(seriesView(response, metric.name, response.meta.granularity), metric.label, metric.unit, currency);
    this.figure.classList.remove("skeleton");
    this.chartMessage.textContent = !empty
      ? ""
      : state.scope
        ? "No numbers from this account for this period yet. Its history may still be downloading (see Ad accounts), or it had no activity."
        : "No data for this period and these filters. Try a longer date range, another source, or fewer filters.";
    setPanelState(this.tilesPanel, empty ? "empty" : "ready");
    setPanelState(this.chartPanel, empty ? "empty" : "ready");
  }

  /** No series to show, because of `error`. */
  seriesFailed(state: PageState, error: unknown): void {
    this.failed(error, [this.tilesPanel, this.chartPanel], this.chartMessage);
    const change = (metric: string) => this.handlers.change({ chartMetric: metric });
    renderTiles(this.tiles, state, catalogFor(this.catalog, state), null, change, currencyOf(state, null), "failed");
  }

  breakdownLoading(state: PageState): void {
    setPanelState(this.tablePanel, "loading");
    this.tableMessage.replaceChildren();
    if (!this.shownTable || this.shownTable.breakdown !== state.breakdown) renderBreakdownSkeleton(this.table, state, catalogFor(this.catalog, state));
  }

  breakdown(state: PageState, response: QueryResponse): void {
    renderBreakdown(this.table, state, catalogFor(this.catalog, state), response, {
      onSort: (sort) => this.handlers.change({ sort }),
    });
    this.shownTable = { breakdown: state.breakdown, response, state };
    this.syncActions();
    this.syncScrollHint();
    const empty = response.rows.length === 0;
    this.tableMessage.textContent = empty ? "No rows: nothing matches this period and these filters." : "";
    setPanelState(this.tablePanel, empty ? "empty" : "ready");
  }

  /** No table to show, because of `error`. */
  breakdownFailed(error: unknown): void {
    this.failed(error, [this.tablePanel], this.tableMessage);
    this.table.replaceChildren();
    this.shownTable = null;
    this.syncActions();
  }

  /** The service is down: one notice for the page, retrying on its own. */
  showOutage(error: unknown): void {
    this.outage.show(error);
    this.syncActions();
  }

  hideOutage(): void {
    this.outage.hide();
    this.syncActions();
  }

  private syncScrollHint(): void {
    this.scrollHint.hidden = this.tableScroll.scrollWidth <= this.tableScroll.clientWidth + 1;
  }

  /** Phones: opens or folds the bar's settings (sources, accounts, dates, filters). */
  private toggleMenu(): void {
    const open = this.shell.dataset.menu !== "open";
    this.shell.dataset.menu = open ? "open" : "closed";
    this.menuButton.setAttribute("aria-expanded", String(open));
  }

  /** Leaves the page: no more retries. */
  close(): void {
    this.outage.hide();
  }

  /** Actions stay disabled while there is nothing to act on: no rows to download, no values to filter by. */
  private syncActions(): void {
    this.csv.disabled = !this.shownTable || this.shownTable.response.rows.length === 0;
    const addFilter = this.chips.querySelector<HTMLButtonElement>(".add-filter");
    if (addFilter) addFilter.disabled = !this.outage.element.hidden;
  }

  /**
   * A failed request is told in its panel, with a retry button. In an outage
   * the panels stay quiet: the page's one notice tells, and retries.
   */
  private failed(error: unknown, panels: HTMLElement[], message: HTMLElement): void {
    if (failureOf(error) === "outage") {
      for (const panel of panels) setPanelState(panel, "unavailable");
      message.replaceChildren();
      return;
    }
    for (const panel of panels) setPanelState(panel, "error");
    const text = error instanceof ApiProblem ? `${error.title}: ${error.detail}` : String(error);
    fill(
      message,
      h("span", { class: "form-error" }, text),
      " ",
      h("button", { type: "button", class: "secondary", onclick: () => this.handlers.refresh() }, "Try again"),
    );
  }

  private downloadPng(): void {
    const url = this.chart.png();
    if (!url) return;
    saveAs(`adhouse-${(this.chartTitle.textContent ?? "chart").replace(/\W+/g, "-").toLowerCase()}.png`, url);
  }

  private downloadCsv(): void {
    if (!this.shownTable) return;
    const { breakdown, response, state } = this.shownTable;
    const range = response.meta.time_range;
    download(`adhouse-${breakdown}-${range.from.slice(0, 10)}-${range.to.slice(0, 10)}.csv`, breakdownCsv(response, state));
  }
}

/** What the page shows, in a few words: the range, the scope, how many filters. */
function summaryOf(state: PageState, sources: ValuesResponse | null): string {
  const range = "preset" in state.range ? (PRESETS.find((preset) => preset.name === (state.range as { preset: string }).preset)?.label ?? "") : `${state.range.from} – ${state.range.to}`;
  const source = state.source === null ? null : (sources?.values.find((entry) => entry.value === state.source)?.label ?? state.source);
  const scope = state.discrepancy ? "Discrepancy" : state.scope ? "Ad accounts" : (source ?? "All sources");
  const filters = state.filters.length > 0 ? ` · ${state.filters.length} filter${state.filters.length === 1 ? "" : "s"}` : "";
  return `${scope} · ${range.replace(/ \(to yesterday\)$/, "")}${filters}`;
}

/** `[from, to)` as the days it covers: `May 4, 2026 – May 10, 2026`. */
function spanText(from: string, to: string): string {
  const midnight = to.slice(11, 19) === "00:00:00";
  const lastDay = midnight ? addDays(to.slice(0, 10), -1) + to.slice(10) : to;
  const first = formatDay(from);
  const last = formatDay(lastDay);
  // A period cut at a time of day (the previous period "to date") says where.
  const until = midnight ? "" : ` until ${to.slice(11, 16)}`;
  return (first === last ? first : `${first} – ${last}`) + until;
}
