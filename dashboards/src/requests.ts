// The two queries a page makes, built from its state alone. Each panel
// re-requests only when its own request changes (compared as JSON), so
// sorting the table does not reload the chart and switching the chart's
// metric reloads nothing: the series already holds every tile metric.

import type { DiscrepancyRequest, FilterRequest, QueryRequest } from "./api";
import type { PageState } from "./state";
import { isRunning } from "./time";

export const BREAKDOWN_LIMIT = 100;

/** The page's filters, with the sidebar's source as one more. */
export function filterRequests(state: PageState): FilterRequest[] {
  const filters: FilterRequest[] = state.filters.map((filter) =>
    filter.op === "contains"
      ? { dimension: filter.dimension, op: "contains", value: filter.values[0] }
      : { dimension: filter.dimension, op: filter.op, values: filter.values },
  );
  if (state.source !== null) filters.push({ dimension: "source", op: "eq", value: state.source });
  const scope = state.scope;
  if (scope && "currency" in scope) filters.push({ dimension: "currency", op: "eq", value: scope.currency });
  if (scope && "account" in scope) {
    filters.push({ dimension: "platform", op: "eq", value: scope.platform }, { dimension: "account", op: "eq", value: scope.account });
  }
  return filters;
}

function common(state: PageState): Pick<QueryRequest, "dataset" | "metrics" | "filters" | "time_range" | "timezone"> {
  return {
    ...(state.scope ? { dataset: "platforms" as const } : {}),
    metrics: state.metrics,
    filters: filterRequests(state),
    time_range: state.range,
    ...(state.timezone ? { timezone: state.timezone } : {}),
  };
}

/**
 * Tiles and chart: totals, a series per bucket, and the comparison period —
 * for a running period (today, this month, this year) its previous one up to
 * the same point, so that a half-finished day is not set against a whole one.
 */
export function seriesRequest(state: PageState, granularity: string): QueryRequest {
  return { ...common(state), granularity, ...compareOf(state) };
}

function compareOf(state: PageState): Pick<QueryRequest, "compare"> {
  if (state.compare === "none" || comparisonNeedsFinishedDays(state)) return {};
  return { compare: isRunning(state.range) ? `${state.compare}_to_date` : state.compare };
}

/**
 * Ad platforms report whole days, so today (or this month, this year) so far
 * cannot be set against the previous one up to the same time: the API refuses
 * it, and a whole previous day against a running one would read as a drop.
 */
export function comparisonNeedsFinishedDays(state: Pick<PageState, "scope" | "compare" | "range">): boolean {
  return state.scope !== null && state.compare !== "none" && isRunning(state.range);
}

/** The breakdown table: the top groups of one dimension, ordered as the table is sorted, with their previous values. */
export function breakdownRequest(state: PageState): QueryRequest {
  return {
    ...common(state),
    ...compareOf(state),
    dimensions: [state.breakdown],
    // Ordered by change, the table shows the largest groups by that metric (their order is the page's).
    order_by: [{ field: state.sort.field, direction: state.sort.byChange ? "desc" : state.sort.direction }],
    limit: BREAKDOWN_LIMIT,
  };
}

/** The discrepancy report flags a partner's difference beyond this percentage. */
export const DISCREPANCY_THRESHOLD_PERCENT = 5;

/** Granularities finer than a day, which a daily partner feed cannot answer. */
const FINER_THAN_DAY = new Set(["minute", "hour"]);

/**
 * The discrepancy report over the page's range, by day at finest: a daily
 * feed's numbers are whole days (the API refuses hours of one), and the
 * page cannot tell which feeds are daily.
 */
export function discrepancyRequest(state: PageState, granularity: string): DiscrepancyRequest {
  return {
    time_range: state.range,
    ...(state.timezone ? { timezone: state.timezone } : {}),
    granularity: FINER_THAN_DAY.has(granularity) ? "day" : granularity,
    threshold_percent: DISCREPANCY_THRESHOLD_PERCENT,
  };
}
