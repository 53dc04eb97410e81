// Filter chips and the dialog that edits one: a dimension, an operator, and
// values picked from the dimension's top values (searched on the server).

import type { ApiClient, Catalog } from "../api";
import { h, fill } from "../dom";
import { EMPTY_MEANS } from "../format";
import type { Filter, FilterOp } from "../state";

const OP_LABELS: Record<FilterOp, string> = { in: "is any of", not_in: "is none of", contains: "contains" };

export function renderChips(
  container: HTMLElement,
  filters: Filter[],
  catalog: Catalog,
  onEdit: (index: number) => void,
  onRemove: (index: number) => void,
  onAdd: () => void,
): void {
  const label = (dimension: string) => catalog.dimensions.find((entry) => entry.name === dimension)?.label ?? dimension;
  const chips = filters.map((filter, index) => {
    const text = `${label(filter.dimension)} ${OP_LABELS[filter.op]} ${filter.values.join(", ")}`;
    return h(
      "li",
      { class: "chip", "data-dimension": filter.dimension },
      h("button", { type: "button", class: "chip-edit", onclick: () => onEdit(index), title: "Edit filter" }, text),
      h("button", { type: "button", class: "chip-remove", "aria-label": `Remove filter ${text}`, onclick: () => onRemove(index) }, "×"),
    );
  });
  fill(
    container,
    ...chips,
    h("li", {}, h("button", { type: "button", class: "add-filter", onclick: onAdd }, "+ Add filter")),
  );
}

/** Opens the filter dialog; `onSave` receives the edited filter. */
export function editFilter(
  dialog: HTMLDialogElement,
  client: ApiClient,
  catalog: Catalog,
  initial: Filter | null,
  onSave: (filter: Filter) => void,
): void {
  const dimensions = catalog.dimensions.filter((dimension) => dimension.name !== "source");
  const selected = new Set(initial && initial.op !== "contains" ? initial.values : []);
  let searchAbort: AbortController | null = null;

  const dimension = h(
    "select",
    { id: "filter-dimension", name: "dimension" },
    ...dimensions.map((entry) => h("option", { value: entry.name, selected: entry.name === initial?.dimension }, entry.label)),
  );
  const op = h(
    "select",
    { id: "filter-op", name: "op" },
    ...(Object.keys(OP_LABELS) as FilterOp[]).map((name) => h("option", { value: name, selected: name === initial?.op }, OP_LABELS[name])),
  );
  const text = h("input", {
    id: "filter-text",
    type: "text",
    autocomplete: "off",
    placeholder: "Text the value contains",
    value: initial?.op === "contains" ? initial.values[0] : "",
  });
  const search = h("input", { id: "filter-search", type: "search", autocomplete: "off", placeholder: "Search values", "aria-controls": "filter-values" });
  const list = h("ul", { id: "filter-values", class: "value-list", "aria-label": "Values", "data-state": "loading" });
  const status = h("p", { class: "muted", role: "status" });
  const error = h("p", { class: "form-error", role: "alert" });

  const loadValues = async () => {
    searchAbort?.abort();
    const abort = new AbortController();
    searchAbort = abort;
    list.dataset.state = "loading";
    status.textContent = "Loading values…";
    try {
      const answer = await client.dimensionValues(dimension.value, search.value.trim(), abort.signal);
      if (abort.signal.aborted) return;
      // Picked values stay listed even when a search hides them.
      const values = [...new Set([...[...selected].filter((value) => !answer.values.some((entry) => entry.value === value)), ...answer.values.map((entry) => entry.value)])];
      const labels = new Map(answer.values.flatMap((entry) => (entry.label ? [[entry.value, entry.label] as const] : [])));
      fill(
        list,
        ...values.map((value) =>
          h(
            "li",
            {},
            h(
              "label",
              {},
              h("input", {
                type: "checkbox",
                value,
                checked: selected.has(value),
                onchange: (event: Event) => {
                  const box = event.target as HTMLInputElement;
                  if (box.checked) selected.add(value);
                  else selected.delete(value);
                },
              }),
              " ",
              value === "" ? h("em", { title: EMPTY_MEANS }, "(empty)") : (labels.get(value) ?? value),
              labels.has(value) ? h("span", { class: "muted small" }, ` ${value}`) : null,
            ),
          ),
        ),
      );
      status.textContent = values.length === 0 ? "No values seen in the last 30 days." : `${values.length} ${values.length === 1 ? "value" : "values"} (last 30 days, most impressions first)`;
      list.dataset.state = "ready";
    } catch (err) {
      if (abort.signal.aborted) return;
      status.textContent = err instanceof Error ? err.message : String(err);
      list.dataset.state = "error";
    }
  };

  const syncOp = () => {
    const contains = op.value === "contains";
    text.closest("label")!.hidden = !contains;
    search.closest("label")!.hidden = contains;
    list.hidden = contains;
    status.hidden = contains;
  };

  let searchTimer: number | undefined;
  search.addEventListener("input", () => {
    // Typing is debounced; the answer replaces the list whenever it comes.
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(loadValues, 200);
  });
  dimension.addEventListener("change", () => {
    selected.clear();
    search.value = "";
    void loadValues();
  });
  op.addEventListener("change", syncOp);

  const form = h(
    "form",
    { method: "dialog", class: "filter-form" },
    h("h2", {}, initial ? "Edit filter" : "Add filter"),
    h("label", {}, "Dimension ", dimension),
    h("label", {}, "Condition ", op),
    h("label", {}, "Text ", text),
    h("label", {}, "Values ", search),
    list,
    status,
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", class: "primary", id: "filter-apply" }, "Apply"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosenOp = op.value as FilterOp;
    const values = chosenOp === "contains" ? [text.value.trim()].filter(Boolean) : [...selected];
    if (values.length === 0) {
      error.textContent = chosenOp === "contains" ? "Type the text to look for." : "Pick at least one value.";
      return;
    }
    dialog.close();
    onSave({ dimension: dimension.value, op: chosenOp, values });
  });
  dialog.addEventListener("close", () => searchAbort?.abort(), { once: true });

  fill(dialog, form);
  syncOp();
  dialog.showModal();
  void loadValues();
}
