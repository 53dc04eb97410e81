// The sign-in form, the sidebar of sources and the top bar's controls.

import type { Catalog, ValuesResponse } from "../api";
import { h, fill } from "../dom";
import type { PageState } from "../state";
import { addDays, GRANULARITY_LABELS, PRESETS, today } from "../time";

export function renderSignIn(root: HTMLElement, message: string | null, onSubmit: (token: string) => void): void {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
    placeholder: "adh_…",
    "aria-describedby": "token-help",
  });
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "adhouse"),
    h("p", {}, "Sign in with an API token."),
    message ? h("p", { class: "form-error", role: "alert", id: "signin-error" }, message) : null,
    h("label", { for: "token" }, "API token"),
    input,
    h(
      "p",
      { id: "token-help", class: "muted" },
      "Ask your administrator, or create one with ",
      h("code", {}, "adhouse-api token create --tenant NAME"),
      ". It is kept in this tab only.",
    ),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token) onSubmit(token);
  });
  fill(root, h("main", { class: "signin-page" }, form));
  input.focus();
}

export function renderSidebar(
  list: HTMLElement,
  sources: ValuesResponse | null,
  /** The source shown (null: all); undefined while the page shows ad accounts instead. */
  selected: string | null | undefined,
  onSelect: (source: string | null) => void,
): void {
  const item = (label: string, value: string | null, detail?: string, title?: string) =>
    h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "source",
          "data-source": value ?? "",
          "aria-current": value === selected ? "true" : null,
          title: title ?? null,
          onclick: () => onSelect(value),
        },
        h("span", {}, label),
        detail ? h("span", { class: "muted small" }, detail) : null,
      ),
    );
  const entries = sources?.values ?? [];
  fill(
    list,
    item("All", null),
    ...entries.map((entry) => item(entry.label ?? (entry.value || "(unnamed)"), entry.value, `${compact(entry.impressions)} imp.`, entry.label ? `Source ${entry.value}` : undefined)),
    // A scoped view of a source with no recent events still shows, so the scope is visible.
    typeof selected === "string" && !entries.some((entry) => entry.value === selected) ? item(selected, selected) : null,
  );
}

const compactFormat = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
function compact(value: number): string {
  return compactFormat.format(value);
}

export interface TopBarHandlers {
  change: (patch: Partial<PageState>) => void;
  refresh: () => void;
}

/** The top bar, rebuilt from the state on every change (it is a few controls). */
export function renderTopBar(
  bar: HTMLElement,
  state: PageState,
  catalog: Catalog,
  granularities: string[],
  granularity: string,
  handlers: TopBarHandlers,
): void {
  const custom = !("preset" in state.range);
  const range = h(
    "select",
    {
      id: "range",
      onchange: (event: Event) => {
        const value = (event.target as HTMLSelectElement).value;
        if (value === "custom") {
          const end = today(state.timezone);
          handlers.change({ range: { from: addDays(end, -6), to: end } });
        } else {
          handlers.change({ range: { preset: value } });
        }
      },
    },
    ...PRESETS.map((preset) => h("option", { value: preset.name, selected: "preset" in state.range && state.range.preset === preset.name }, preset.label)),
    h("option", { value: "custom", selected: custom }, "Custom…"),
  );
  const dates =
    "from" in state.range
      ? customDates(state.range, (range) => handlers.change({ range }))
      : null;

  const zones = ["UTC", ...Intl.supportedValuesOf("timeZone").filter((zone) => zone !== "UTC")];
  if (state.timezone && !zones.includes(state.timezone)) zones.unshift(state.timezone);
  const timezone = h(
    "select",
    { id: "timezone", onchange: (event: Event) => handlers.change({ timezone: (event.target as HTMLSelectElement).value || null }) },
    h("option", { value: "", selected: state.timezone === null }, "Account timezone"),
    ...zones.map((zone) => h("option", { value: zone, selected: zone === state.timezone }, zone.replaceAll("_", " "))),
  );
  const granularitySelect = h(
    "select",
    { id: "granularity", onchange: (event: Event) => handlers.change({ granularity: (event.target as HTMLSelectElement).value }) },
    ...granularities.map((name) => h("option", { value: name, selected: name === granularity }, GRANULARITY_LABELS[name] ?? name)),
  );
  const compare = h(
    "select",
    { id: "compare", onchange: (event: Event) => handlers.change({ compare: (event.target as HTMLSelectElement).value as PageState["compare"] }) },
    ...(
      [
        ["previous_period", "Previous period"],
        ["previous_year", "Previous year"],
        ["none", "Off"],
      ] as const
    ).map(([value, label]) => h("option", { value, selected: state.compare === value }, label)),
  );
  const live = h("input", {
    id: "auto-refresh",
    type: "checkbox",
    checked: state.autoRefresh,
    onchange: (event: Event) => handlers.change({ autoRefresh: (event.target as HTMLInputElement).checked }),
  });
  const metrics = h(
    "details",
    { class: "metric-picker" },
    h("summary", {}, "Metrics"),
    h(
      "fieldset",
      {},
      h("legend", { class: "visually-hidden" }, "Metrics shown as tiles"),
      ...catalog.metrics.map((metric) =>
        h(
          "label",
          {},
          h("input", {
            type: "checkbox",
            value: metric.name,
            checked: state.metrics.includes(metric.name),
            onchange: (event: Event) => {
              const box = event.target as HTMLInputElement;
              const chosen = box.checked ? [...state.metrics, metric.name] : state.metrics.filter((name) => name !== metric.name);
              if (chosen.length === 0) {
                box.checked = true;
                return;
              }
              handlers.change({ metrics: catalog.metrics.map((m) => m.name).filter((name) => chosen.includes(name)) });
            },
          }),
          " ",
          metric.label,
        ),
      ),
    ),
  );

  fill(
    bar,
    field("Date range", range, "range"),
    dates,
    field("Timezone", timezone, "timezone"),
    field("Granularity", granularitySelect, "granularity"),
    field("Compare", compare, "compare"),
    metrics,
    h("label", { class: "toggle", for: "auto-refresh" }, live, " Auto-refresh (60 s)"),
    h("button", { type: "button", id: "refresh", class: "secondary", onclick: handlers.refresh }, "↻ Refresh"),
    copyLink(),
  );
}

/** The page's address holds the whole view: copying it shares exactly what is shown. */
function copyLink(): HTMLElement {
  const button = h("button", { type: "button", id: "copy-link", class: "secondary" }, "Copy link");
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(location.href).then(
      () => (button.textContent = "Link copied"),
      () => (button.textContent = "Copy the address bar instead"),
    );
    window.setTimeout(() => (button.textContent = "Copy link"), 2_000);
  });
  return button;
}

function field(label: string, control: HTMLElement, id: string): HTMLElement {
  return h("span", { class: "field" }, h("label", { for: id }, label), control);
}

/** From and to dates; moving one past the other moves both. */
function customDates(range: { from: string; to: string }, change: (range: { from: string; to: string }) => void): HTMLElement {
  return h(
    "span",
    { class: "dates" },
    dateInput("from", "From", range.from, (from) => change({ from, to: from > range.to ? from : range.to })),
    dateInput("to", "To", range.to, (to) => change({ from: to < range.from ? to : range.from, to })),
  );
}

function dateInput(id: string, label: string, value: string, onChange: (value: string) => void): HTMLElement {
  const input = h("input", {
    id: `range-${id}`,
    type: "date",
    value,
    required: true,
    onchange: (event: Event) => {
      const text = (event.target as HTMLInputElement).value;
      if (text) onChange(text);
    },
  });
  return field(label, input, `range-${id}`);
}
