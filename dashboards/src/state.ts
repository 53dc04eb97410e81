// The page state: its one serialized form, the URL query string, so any view
// can be shared, bookmarked and restored with Back and Forward (values equal
// to the defaults are left out); and its one set of consistency rules
// (`normalize`), which every path to a new state goes through: a URL read,
// a user's change, Back and Forward.

import type { Catalog } from "./api";
import { defaultGranularity, isDate, PRESETS, rangeDays, validGranularities, type Range } from "./time";

export type FilterOp = "in" | "not_in" | "contains";

export interface Filter {
  dimension: string;
  op: FilterOp;
  /** One or more values for `in` / `not_in`; exactly one text for `contains`. */
  values: string[];
}

export interface SortState {
  field: string;
  direction: "asc" | "desc";
  /**
   * Order the table by the change of `field` against the comparison period
   * instead of its value: the top groups by value are fetched, and ordered
   * by their change (groups without a previous value last).
   */
  byChange?: boolean;
}

/**
 * Linked ad accounts the page shows instead of logs: one account, or all
 * accounts of one currency (money of different currencies never adds up).
 */
export type Scope = { platform: string; account: string } | { currency: string };

export interface PageState {
  /** Ingest source the page is scoped to; null for all. */
  source: string | null;
  /** Set: the page shows ad-platform numbers (dataset `platforms`) instead of logs. */
  scope: Scope | null;
  /** The page shows the discrepancy report (logs against partner feeds) instead of a report. */
  discrepancy: boolean;
  range: Range;
  /** IANA name; null for the token's own timezone. */
  timezone: string | null;
  granularity: string | null;
  compare: "previous_period" | "previous_year" | "none";
  metrics: string[];
  chartMetric: string;
  breakdown: string;
  sort: SortState;
  filters: Filter[];
  autoRefresh: boolean;
}

export const DEFAULT_METRICS = ["impressions", "revenue", "ecpm", "fill_rate", "ctr", "vtr"];
const DEFAULT_BREAKDOWN = "publisher_id";
export const PLATFORM_METRICS = ["spend", "impressions", "clicks", "ctr", "cpc", "conversions", "cpa", "roas"];
const PLATFORM_BREAKDOWN = "campaign";
/** Organic accounts (Facebook Pages here, Instagram below): no money, no campaigns; followers a gauge. */
const PAGES_METRICS = ["followers", "follows", "impressions", "profile_views", "engagements", "video_views"];
/** Instagram keeps no follower history and reports no video views: new followers lead. */
const INSTAGRAM_METRICS = ["follows", "impressions", "profile_views", "engagements"];

export type Dataset = "logs" | "platforms";

export function datasetOf(state: Pick<PageState, "scope">): Dataset {
  return state.scope ? "platforms" : "logs";
}

/** The catalog as the state's dataset sees it: its metrics and dimensions; platforms are daily. */
export function catalogFor<C extends CatalogChoices>(catalog: C, state: Pick<PageState, "scope">): C {
  if (datasetOf(state) === "logs") return catalog;
  const platforms = catalog.datasets.platforms;
  const daily = catalog.granularities.filter((entry) => !["minute", "hour"].includes(entry.name));
  return { ...catalog, metrics: platforms.metrics, dimensions: platforms.dimensions, granularities: daily };
}

/** What a page shows: logs, ad accounts, or organic accounts, each with its own default tiles. */
type View = "logs" | "ads" | "facebook" | "instagram";

function viewOf(state: Pick<PageState, "scope">): View {
  if (!state.scope) return "logs";
  const platform = "platform" in state.scope ? state.scope.platform : "";
  return platform === "facebook" || platform === "instagram" ? platform : "ads";
}

function defaultsOf(view: View): Pick<PageState, "metrics" | "chartMetric" | "breakdown" | "sort"> {
  const metrics = { logs: DEFAULT_METRICS, ads: PLATFORM_METRICS, facebook: PAGES_METRICS, instagram: INSTAGRAM_METRICS }[view];
  return {
    metrics: [...metrics],
    chartMetric: metrics[0],
    breakdown: { logs: DEFAULT_BREAKDOWN, ads: PLATFORM_BREAKDOWN, facebook: "account", instagram: "account" }[view],
    sort: { field: metrics[0], direction: "desc" },
  };
}
const COMPARES = ["previous_period", "previous_year", "none"] as const;
const FILTER_OPS: FilterOp[] = ["in", "not_in", "contains"];

export function defaultState(): PageState {
  return {
    source: null,
    scope: null,
    discrepancy: false,
    range: { preset: "last_7_days" },
    timezone: null,
    granularity: null,
    compare: "previous_period",
    metrics: [...DEFAULT_METRICS],
    chartMetric: "impressions",
    breakdown: DEFAULT_BREAKDOWN,
    sort: { field: "impressions", direction: "desc" },
    filters: [],
    autoRefresh: false,
  };
}

const NAME = /^[a-z_]{1,64}$/;

/** Reads a URL query string; anything malformed falls back to its default, and the result is normalized. */
export function parseState(search: string): PageState {
  const params = new URLSearchParams(search);
  const state = defaultState();
  const source = params.get("src");
  if (source) state.source = source;
  const scope = parseScope(params.get("acct") ?? "");
  if (scope) Object.assign(state, { scope, ...defaultsOf(viewOf({ scope })) });
  state.discrepancy = params.get("view") === "discrepancy";

  const range = params.get("range");
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  if (range === "custom" && isDate(from) && isDate(to) && from <= to) state.range = { from, to };
  else if (range && PRESETS.some((preset) => preset.name === range)) state.range = { preset: range };

  const timezone = params.get("tz");
  if (timezone && /^[A-Za-z0-9/_+-]{1,64}$/.test(timezone)) state.timezone = timezone;
  const granularity = params.get("g");
  if (granularity && NAME.test(granularity)) state.granularity = granularity;
  const compare = params.get("cmp");
  if (COMPARES.includes(compare as PageState["compare"])) state.compare = compare as PageState["compare"];

  const metrics = (params.get("m") ?? "").split(",").filter((name) => NAME.test(name));
  const defaults = defaultsOf(viewOf(state));
  if (metrics.length > 0) state.metrics = [...new Set(metrics)];
  // An absent chart metric or sort means the first tile (as serializeState writes it).
  const chart = params.get("chart");
  state.chartMetric = chart && NAME.test(chart) ? chart : state.metrics[0];

  const breakdown = params.get("by");
  state.breakdown = breakdown && NAME.test(breakdown) ? breakdown : defaults.breakdown;
  const sort = /^([a-z_]{1,64})(\.change)?\.(asc|desc)$/.exec(params.get("sort") ?? "");
  state.sort = sort
    ? { field: sort[1], direction: sort[3] as SortState["direction"], ...(sort[2] ? { byChange: true } : {}) }
    : { field: state.metrics[0], direction: "desc" };

  state.filters = params.getAll("f").flatMap((text) => {
    const filter = parseFilter(text);
    return filter ? [filter] : [];
  });
  state.autoRefresh = params.get("live") === "1";
  return normalize(state);
}

/** The parts of the API's catalog that the page state must agree with. */
export type CatalogChoices = Pick<Catalog, "metrics" | "dimensions" | "granularities" | "datasets">;

/**
 * The state made consistent, the one place for every fix-up. With the
 * catalog, names it does not know are dropped and the granularity is checked
 * against the range; without it (a URL read before sign-in), only the
 * fields' agreement with each other.
 */
export function normalize(state: PageState, all?: CatalogChoices): PageState {
  const next: PageState = { ...state };
  const defaults = defaultsOf(viewOf(next));
  // An account view is not scoped to a log source, nor filtered by log dimensions.
  if (next.scope) Object.assign(next, { source: null, filters: [] });
  // The discrepancy report covers every partner of the tenant: no source, account or filter.
  if (next.discrepancy) Object.assign(next, { source: null, scope: null, filters: [] });
  const catalog = all && catalogFor(all, next);
  if (catalog) {
    const known = new Set(catalog.metrics.map((metric) => metric.name));
    next.metrics = next.metrics.filter((name) => known.has(name));
    if (!catalog.dimensions.some((dimension) => dimension.name === next.breakdown)) next.breakdown = defaults.breakdown;
  }
  if (next.metrics.length === 0) next.metrics = [...defaults.metrics];
  // The chart shows one of the tiles.
  if (!next.metrics.includes(next.chartMetric)) next.chartMetric = next.metrics[0];
  // The table sorts by a metric it shows or by its own dimension.
  if (!next.metrics.includes(next.sort.field) && next.sort.field !== next.breakdown) next.sort = { field: next.metrics[0], direction: "desc" };
  // A change needs a metric and a comparison.
  if (next.sort.byChange && (next.compare === "none" || !next.metrics.includes(next.sort.field))) next.sort = { field: next.sort.field, direction: next.sort.direction };
  // Only a granularity the user picked and the range allows is kept; otherwise the range's default applies.
  if (catalog && next.granularity !== null && !granularities(next, catalog).valid.includes(next.granularity)) next.granularity = null;
  return next;
}

/**
 * What the money of `response` is in: its `meta.currency` (the tenant's
 * reporting currency for logs, the accounts' own for platforms), else the
 * "All accounts" view's. Never a currency the numbers are not in: amounts
 * are not converted.
 */
export function currencyOf(state: Pick<PageState, "scope">, response: { meta: { currency?: string } } | null): string {
  const scope = state.scope;
  return response?.meta.currency ?? (scope && "currency" in scope ? scope.currency : "USD");
}

/** `meta:1001` (one account) or `all:EUR` (every account in euros). */
function parseScope(text: string): Scope | null {
  const match = /^([a-z_]{1,32}):([A-Za-z0-9_.-]{1,64})$/.exec(text);
  if (!match) return null;
  if (match[1] === "all") return /^[A-Z]{3}$/.test(match[2]) ? { currency: match[2] } : null;
  return { platform: match[1], account: match[2] };
}

export function formatScope(scope: Scope): string {
  return "currency" in scope ? `all:${scope.currency}` : `${scope.platform}:${scope.account}`;
}

export function sameScope(a: Scope | null, b: Scope | null): boolean {
  return (a === null && b === null) || (a !== null && b !== null && formatScope(a) === formatScope(b));
}

/** The state after a user's change. */
export function changeState(state: PageState, patch: Partial<PageState>, catalog: CatalogChoices): PageState {
  let next = { ...state, ...patch };
  // Picking a log source (or All) leaves an account view.
  if ("source" in patch && !("scope" in patch)) next.scope = null;
  // Picking a source or an account leaves the discrepancy report.
  if (("source" in patch || "scope" in patch) && !("discrepancy" in patch)) next.discrepancy = false;
  // Another dataset (or organic accounts after ad accounts) has other metrics and dimensions: its defaults apply.
  if (viewOf(next) !== viewOf(state)) next = { ...next, ...defaultsOf(viewOf(next)), filters: [] };
  // A granularity picked for one range is not carried to another: the new range's default applies.
  if (patch.range) next.granularity = null;
  return normalize(next, catalog);
}

/** The granularities the state's range allows, and the one in use. */
export function granularities(state: PageState, catalog: CatalogChoices): { valid: string[]; chosen: string } {
  const maxDays = Object.fromEntries(catalogFor(catalog, state).granularities.map((entry) => [entry.name, entry.max_range_days]));
  const days = rangeDays(state.range);
  const valid = validGranularities(days, maxDays);
  const chosen = state.granularity && valid.includes(state.granularity) ? state.granularity : defaultGranularity(days, valid);
  return { valid, chosen };
}

/** `dimension:op:v1,v2` with each value percent-encoded (values may hold `,` or `:`). */
function parseFilter(text: string): Filter | null {
  const match = /^([a-z_]{1,64}):([a-z_]+):(.*)$/.exec(text);
  if (!match || !FILTER_OPS.includes(match[2] as FilterOp)) return null;
  try {
    const values = match[3].split(",").map(decodeURIComponent).filter((value) => value !== "");
    if (values.length === 0 || (match[2] === "contains" && values.length !== 1)) return null;
    return { dimension: match[1], op: match[2] as FilterOp, values };
  } catch {
    return null;
  }
}

function formatFilter(filter: Filter): string {
  return `${filter.dimension}:${filter.op}:${filter.values.map(encodeURIComponent).join(",")}`;
}

/** The URL query string of a state (without `?`); defaults are omitted. */
export function serializeState(state: PageState): string {
  const defaults = { ...defaultState(), ...defaultsOf(viewOf(state)) };
  const params = new URLSearchParams();
  if (state.source) params.set("src", state.source);
  if (state.scope) params.set("acct", formatScope(state.scope));
  if (state.discrepancy) params.set("view", "discrepancy");
  if ("preset" in state.range) {
    if (state.range.preset !== (defaults.range as { preset: string }).preset) params.set("range", state.range.preset);
  } else {
    params.set("range", "custom");
    params.set("from", state.range.from);
    params.set("to", state.range.to);
  }
  if (state.timezone) params.set("tz", state.timezone);
  if (state.granularity) params.set("g", state.granularity);
  if (state.compare !== defaults.compare) params.set("cmp", state.compare);
  if (state.metrics.join(",") !== defaults.metrics.join(",")) params.set("m", state.metrics.join(","));
  if (state.chartMetric !== state.metrics[0]) params.set("chart", state.chartMetric);
  if (state.breakdown !== defaults.breakdown) params.set("by", state.breakdown);
  if (state.sort.field !== state.metrics[0] || state.sort.direction !== "desc" || state.sort.byChange) {
    params.set("sort", `${state.sort.field}${state.sort.byChange ? ".change" : ""}.${state.sort.direction}`);
  }
  for (const filter of state.filters) params.append("f", formatFilter(filter));
  if (state.autoRefresh) params.set("live", "1");
  return params.toString();
}
