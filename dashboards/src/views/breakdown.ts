// The breakdown table: the top groups of one dimension, sorted on the server
// (so "top 100 by CTR" really is that), and its CSV: the same header, rows and
// order as shown, numbers at full precision.

import type { Catalog, Cell, QueryResponse } from "../api";
import { toCsv, type CsvCell } from "../csv";
import { h, fill } from "../dom";
import { formatValue } from "../format";
import { BREAKDOWN_LIMIT } from "../requests";
import { currencyOf, type PageState, type SortState } from "../state";

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
      const sorted = state.sort.field === column.name;
      const direction = sorted ? state.sort.direction : null;
      const next: SortState = {
        field: column.name,
        // A metric first sorts high to low, a name A to Z.
        direction: sorted ? (direction === "desc" ? "asc" : "desc") : column.kind === "metric" ? "desc" : "asc",
      };
      return h(
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
      );
    }),
  );
  const rows = response.rows.map((row) =>
    h(
      "tr",
      {},
      ...row.map((cell, i) => {
        const column = response.columns[i];
        if (column.kind !== "metric") {
          // Platforms answer ids, with their names in `labels`.
          const name = response.labels?.[column.name]?.[String(cell)];
          return h("th", { scope: "row", "data-value": String(cell), title: name ? String(cell) : null }, cell === "" ? h("em", {}, "(empty)") : (name ?? String(cell)));
        }
        const metric = catalog.metrics.find((entry) => entry.name === column.name);
        return h(
          "td",
          { class: "num", "data-value": String(cell ?? "") },
          formatValue(cell as number | null, metric?.unit ?? "count", currencyOf(state, response)),
        );
      }),
    ),
  );
  fill(table, h("thead", {}, header), h("tbody", {}, ...rows));
  const caption = table.createCaption();
  caption.textContent = `Top ${Math.min(response.rows.length, BREAKDOWN_LIMIT)} by ${
    response.columns.find((column) => column.name === state.sort.field)?.label ?? state.sort.field
  }`;
}

/** The CSV of a breakdown response: column labels, then each row's raw values. */
export function breakdownCsv(response: QueryResponse): string {
  return toCsv(
    response.columns.map((column) => column.label),
    response.rows.map((row) => row.map((cell: Cell): CsvCell => cell)),
  );
}

/** Saves text as a file through the browser's download. */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked on the next task: the download has started by then.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
