// The breakdown table: the top groups of one dimension, sorted on the server
// (so "top 100 by CTR" really is that), and its CSV: the same header, rows and
// order as shown, numbers at full precision.

import type { Catalog, Cell, QueryResponse } from "../api";
import { toCsv, type CsvCell } from "../csv";
import { h, fill } from "../dom";
import { EMPTY_MEANS, formatChange, formatValue } from "../format";
import { BREAKDOWN_LIMIT } from "../requests";
import { currencyOf, type PageState, type SortState } from "../state";
import { skeleton } from "./tiles";

export interface BreakdownHandlers {
  onSort: (sort: SortState) => void;
}

export function renderBreakdown(
  table: HTMLTableElement,
  state: PageState,
  catalog: Catalog,
  response: QueryResponse,
  handlers: BreakdownHandlers,
): void {
  const header = h(
    "tr",
    {},
    ...response.columns.map((column) => {
      const sorted = state.sort.field === column.name && !state.sort.byChange;
      const direction = sorted ? state.sort.direction : null;
      const next: SortState = {
        field: column.name,
        // A metric first sorts high to low, a name A to Z.
        direction: sorted ? (direction === "desc" ? "asc" : "desc") : column.kind === "metric" ? "desc" : "asc",
      };
      const byChange = state.sort.field === column.name && state.sort.byChange ? state.sort.direction : null;
      const cell = h(
        "th",
        {
          scope: "col",
          class: column.kind === "metric" ? "num" : null,
          "aria-sort": direction === "asc" ? "ascending" : direction === "desc" ? "descending" : "none",
        },
        h(
          "button",
          { type: "button", class: "sort", onclick: () => handlers.onSort(next), "data-column": column.name },
          column.label,
          h("span", { class: "sort-mark", "aria-hidden": "true" }, direction === "asc" ? " ↑" : direction === "desc" ? " ↓" : ""),
        ),
        // With a comparison, a metric can also order the rows by its change: biggest rise first, then biggest fall.
        column.kind === "metric" && response.comparison?.rows
          ? h(
              "button",
              {
                type: "button",
                class: "sort sort-change",
                "data-change-column": column.name,
                "aria-pressed": String(byChange !== null),
                title: `Order by change in ${column.label}`,
                "aria-label": `Order by change in ${column.label}`,
                onclick: () => handlers.onSort({ field: column.name, direction: byChange === "desc" ? "asc" : "desc", byChange: true }),
              },
              "Δ",
              h("span", { class: "sort-mark", "aria-hidden": "true" }, byChange === "asc" ? "↑" : byChange === "desc" ? "↓" : ""),
            )
          : null,
      );
      return cell;
    }),
  );
  const currency = currencyOf(state, response);
  const unit = (name: string) => catalog.metrics.find((entry) => entry.name === name)?.unit ?? "count";
  // Each row's share of the first metric's total (sums only: a share of a rate means nothing).
  const shareOf = state.metrics[0];
  const total = response.totals[shareOf];
  const additive = catalog.metrics.find((entry) => entry.name === shareOf)?.combine === "sum";
  const share = (value: Cell) =>
    additive && typeof value === "number" && typeof total === "number" && total > 0
      ? h("span", { class: "cell-share", title: `Share of the total ${shareOf}` }, `${((value / total) * 100).toFixed(1)} %`)
      : null;
  const previous = response.comparison?.rows;
  const metricCell = (name: string, value: Cell, before: Cell | undefined) =>
    h(
      "td",
      { class: "num", "data-value": String(value ?? "") },
      formatValue(value as number | null, unit(name), currency),
      name === shareOf ? share(value) : null,
      previous ? changeMark(name, value, before, formatValue((before ?? null) as number | null, unit(name), currency)) : null,
    );
  const rows = rowOrder(response, state).map((r) => [response.rows[r], r] as const).map(([row, r]) =>
    h(
      "tr",
      {},
      ...row.map((cell, i) => {
        const column = response.columns[i];
        if (column.kind !== "metric") {
          // Platforms answer ids, with their names in `labels`.
          const name = response.labels?.[column.name]?.[String(cell)];
          const shown =
            cell === ""
              ? h("em", { title: EMPTY_MEANS }, "(empty)")
              : column.name === "country"
                ? h("span", {}, String(cell), countryName(String(cell)))
                : (name ?? String(cell));
          return h("th", { scope: "row", "data-value": String(cell), title: name ? String(cell) : null }, shown);
        }
        return metricCell(column.name, cell, previous?.[r]?.[i]);
      }),
    ),
  );
  const changeOf = response.comparison?.change;
  const totals = h(
    "tr",
    { class: "totals" },
    ...response.columns.map((column, i) => {
      if (column.kind !== "metric") return h("th", { scope: "row" }, i === 0 ? "Total" : "");
      const value = response.totals[column.name] ?? null;
      return h(
        "td",
        { class: "num", "data-total": String(value ?? "") },
        formatValue(value, unit(column.name), currency),
        changeOf ? changeMark(column.name, value, response.comparison?.totals?.[column.name] ?? null, formatValue(response.comparison?.totals?.[column.name] ?? null, unit(column.name), currency)) : null,
      );
    }),
  );
  fill(table, h("thead", {}, header), h("tbody", {}, ...rows), response.rows.length > 0 ? h("tfoot", {}, totals) : null);
  const caption = table.createCaption();
  const sortedBy = response.columns.find((column) => column.name === state.sort.field)?.label ?? state.sort.field;
  caption.textContent =
    `Top ${Math.min(response.rows.length, BREAKDOWN_LIMIT)} by ${sortedBy}` + (state.sort.byChange ? `, ordered by change in ${sortedBy}` : "");
}

/**
 * The order rows are shown in: as the API sorted them, or, ordered by
 * change, by each row's percent change of the sort metric (rows without a
 * previous value last, ties as the API sorted them).
 */
export function rowOrder(response: QueryResponse, state: PageState): number[] {
  const order = response.rows.map((_, r) => r);
  const i = response.columns.findIndex((column) => column.name === state.sort.field);
  const previous = response.comparison?.rows;
  if (!state.sort.byChange || i < 0 || !previous) return order;
  const sign = state.sort.direction === "desc" ? -1 : 1;
  const change = order.map((r) => percentChange(response.rows[r][i], previous[r]?.[i]));
  return order.sort((a, b) => {
    const [x, y] = [change[a], change[b]];
    if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1;
    return x === y ? a - b : sign * (x - y);
  });
}

function percentChange(value: Cell | null | undefined, before: Cell | null | undefined): number | null {
  return typeof value === "number" && typeof before === "number" && before !== 0 ? ((value - before) / Math.abs(before)) * 100 : null;
}

/** Rows of grey bars under the real headers while the first table loads. */
const SKELETON_ROWS = 8;

/** The table's shape before its rows arrive: its headers, and bars where values will be. */
export function renderBreakdownSkeleton(table: HTMLTableElement, state: PageState, catalog: Catalog): void {
  const dimension = catalog.dimensions.find((entry) => entry.name === state.breakdown)?.label ?? state.breakdown;
  const metrics = state.metrics.map((name) => catalog.metrics.find((entry) => entry.name === name)?.label ?? name);
  const header = h("tr", {}, h("th", { scope: "col" }, dimension), ...metrics.map((label) => h("th", { scope: "col", class: "num" }, label)));
  const row = () => h("tr", { class: "skeleton-row" }, h("th", { scope: "row" }, skeleton()), ...metrics.map(() => h("td", { class: "num" }, skeleton("short"))));
  fill(table, h("thead", {}, header), h("tbody", {}, ...Array.from({ length: SKELETON_ROWS }, row)));
  table.caption?.remove();
}

const regions = new Intl.DisplayNames(["en"], { type: "region" });

/** "Germany" after "DE": the code stays what filters and the CSV use. */
function countryName(code: string): HTMLElement | null {
  let name: string | undefined;
  try {
    name = /^[A-Z]{2}$/.test(code) ? regions.of(code) : undefined;
  } catch {
    name = undefined;
  }
  return name && name !== code ? h("span", { class: "muted country-name" }, ` ${name}`) : null;
}

/** The change against the comparison period under a value, coloured by whether up is good; the previous value on hover. */
function changeMark(metric: string, value: Cell | null, before: Cell | null | undefined, shownBefore: string): HTMLElement {
  const percent = percentChange(value, before);
  const change = formatChange(metric, percent);
  return h(
    "span",
    { class: `cell-change ${change.tone}`, "data-percent": String(percent ?? "null"), title: `Comparison period: ${shownBefore}` },
    change.arrow ? `${change.arrow} ${change.text}` : "new",
    h("span", { class: "visually-hidden" }, ` (comparison period: ${shownBefore})`),
  );
}

/** The CSV of a breakdown response: column labels, then each row's raw values, in the order shown. */
export function breakdownCsv(response: QueryResponse, state: PageState): string {
  return toCsv(
    response.columns.map((column) => column.label),
    rowOrder(response, state).map((r) => response.rows[r].map((cell: Cell): CsvCell => cell)),
  );
}

/** Saves text as a file through the browser's download. */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  saveAs(filename, url);
  // Revoked on the next task: the download has started by then.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** Has the browser download `href` (an object or data URL) as `filename`. */
export function saveAs(filename: string, href: string): void {
  const link = h("a", { href, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
}
