// KPI tiles: one button per metric with its total, and the change against
// the comparison period coloured by whether up is good for that metric.

import type { Catalog, QueryResponse } from "../api";
import { h, fill } from "../dom";
import { formatChange, formatValue } from "../format";
import { comparisonNeedsFinishedDays } from "../requests";
import type { PageState } from "../state";

export function renderTiles(
  container: HTMLElement,
  state: PageState,
  catalog: Catalog,
  response: QueryResponse | null,
  onSelect: (metric: string) => void,
  /** What the money is in (the response's `meta.currency`). */
  currency: string,
  /** Without a response: a placeholder of the value's size while loading (the layout stays), "—" after an error. */
  placeholder: "loading" | "failed" = "loading",
): void {
  const tiles = state.metrics.map((name) => {
    const metric = catalog.metrics.find((entry) => entry.name === name);
    const label = metric?.label ?? name;
    const value = response?.totals[name];
    const shown = response
      ? formatValue(value ?? null, metric?.unit ?? "count", currency)
      : placeholder === "loading"
        ? skeleton()
        : "—";
    const selected = name === state.chartMetric;
    const unavailable = response?.comparison?.unavailable;
    const why = unavailable
      ? { code: unavailable.code, reason: unavailableReason(unavailable.retention_days) }
      : response && comparisonNeedsFinishedDays(state)
        ? { code: "whole_days", reason: WHOLE_DAYS_REASON }
        : null;
    const change = response?.comparison && !unavailable ? formatChange(name, response.comparison.change[name]?.percent) : null;
    const previous = response?.comparison?.totals?.[name];
    return h(
      "button",
      {
        type: "button",
        class: "tile",
        "data-metric": name,
        "data-value": response ? String(value ?? "null") : null,
        "aria-pressed": String(selected),
        title: metric?.description,
        onclick: () => onSelect(name),
      },
      h("span", { class: "tile-label" }, label),
      h("span", { class: "tile-value" }, shown),
      change
        ? h(
            "span",
            {
              class: `tile-change ${change.tone}`,
              "data-percent": String(response?.comparison?.change[name]?.percent ?? "null"),
              "aria-label": `${change.description} versus the comparison period (${formatValue(previous ?? null, metric?.unit ?? "count", currency)})`,
            },
            change.arrow ? h("span", { "aria-hidden": "true" }, change.arrow, " ") : null,
            change.text,
          )
        : why
          ? h("span", { class: "tile-change unavailable", "data-unavailable": why.code, title: why.reason }, "comparison unavailable")
          : h("span", { class: "tile-change flat" }, !response && placeholder === "loading" ? skeleton("short") : state.compare === "none" ? "no comparison" : ""),
    );
  });
  fill(container, ...tiles);
}

/** A grey bar where text will be, one line high, so that nothing moves when the text arrives. */
export function skeleton(size: "short" | "long" = "long"): HTMLElement {
  return h("span", { class: `skeleton-bar ${size}`, "aria-hidden": "true" }, "\u00a0");
}

/** Why an ad account's running period has no comparison, in a marketer's words. */
export const WHOLE_DAYS_REASON =
  "Ad platforms report whole days, so a day, month or year still running can't be compared with the previous one " +
  "up to the same time. Choose Yesterday, Last 7 days or Last month to compare finished days.";

/** Why a comparison has no numbers, for people rather than operators. */
export function unavailableReason(retentionDays: number): string {
  return (
    `Figures for the comparison period are no longer kept at this level of detail (detailed data is kept ${retentionDays} days). ` +
    "Remove breakdowns or filters such as operating system or source, or compare a more recent period."
  );
}
