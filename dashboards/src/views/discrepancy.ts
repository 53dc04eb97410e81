// The discrepancy report: per demand partner (and feed, when several report
// it), impressions and revenue as adhouse counted them from the logs against
// what the partner reports, the
// difference coloured by whether it exceeds the report's threshold, and a
// chart of each partner's impression difference over time. Above it, when
// the partner data is as of (the oldest feed's last successful poll).

import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";

import type { Difference, DiscrepancyResponse, FeedHealth, PartnerDiscrepancy } from "../api";
import { fill, h } from "../dom";
import { formatBucket, formatValue } from "../format";

Chart.register(LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

/** The partner reports some where adhouse counted none: no percentage, and the largest difference there is. */
function missingFromLogs(difference: Difference): boolean {
  return difference.percent === null && difference.absolute !== null && difference.absolute !== 0;
}

/** `over` beyond the threshold (or missing from the logs), `within` inside it, `none` when there is nothing to compare. */
export function differenceClass(difference: Difference, threshold: number): "over" | "within" | "none" {
  if (missingFromLogs(difference)) return "over";
  if (difference.percent === null) return "none";
  return Math.abs(difference.percent) > threshold ? "over" : "within";
}

export function formatPercent(percent: number | null): string {
  if (percent === null) return "—";
  return `${percent > 0 ? "+" : ""}${percent.toFixed(2)} %`;
}

/** A difference cell's text: its percentage, or what a missing one means. */
export function differenceText(difference: Difference): string {
  return missingFromLogs(difference) ? "Not in our logs" : formatPercent(difference.percent);
}

/** The oldest last success among `feeds`: all live data is at least this fresh; null if a feed never succeeded. */
export function dataAsOf(feeds: FeedHealth[]): string | null {
  if (feeds.length === 0 || feeds.some((feed) => feed.last_success_at === null)) return null;
  return feeds.map((feed) => feed.last_success_at!).sort()[0];
}

/** `Data as of 14:05 UTC (3 min ago)`, the label every live-data view carries. */
export function freshnessText(feeds: FeedHealth[], now: number = Date.now()): string {
  if (feeds.length === 0) return "No partner feeds are configured.";
  const asOf = dataAsOf(feeds);
  if (asOf === null) return "Partner data: not fetched yet.";
  const minutes = Math.max(0, Math.round((now - Date.parse(asOf)) / 60_000));
  const when = new Date(asOf).toISOString().slice(11, 16);
  return `Partner data as of ${when} UTC (${minutes === 0 ? "just now" : `${minutes} min ago`})`;
}

/** A row's name: the partner, with its feed when more than one feed reports the partner (each row is that feed against the logs). */
export function rowLabel(row: PartnerDiscrepancy, rows: PartnerDiscrepancy[]): string {
  const feeds = rows.filter((other) => other.partner === row.partner).length;
  return feeds > 1 && row.feed !== null ? `${row.partner} (${row.feed})` : row.partner;
}

/** What a truncated report of `shown` partners leaves out, in words. */
export function truncatedText(shown: number): string {
  return `Only the ${shown} partners with the most impressions are shown; others with impressions in this period are left out.`;
}

export class DiscrepancyView {
  readonly element = h("section", { class: "panel discrepancy-panel", id: "discrepancy", "aria-labelledby": "discrepancy-title" });
  private readonly freshness = h("p", { class: "freshness muted", id: "data-as-of", "aria-live": "polite" });
  private readonly caption = h("p", { class: "muted" });
  private readonly table = h("table", { class: "breakdown discrepancy-table", id: "discrepancy-table" });
  private readonly message = h("div", { class: "panel-message", role: "status" });
  private readonly figure = h("figure", { class: "chart", id: "discrepancy-chart" });
  private readonly canvas = h("canvas", { role: "img" });
  private chart: Chart<"line", (number | null)[], string> | null = null;

  constructor() {
    this.figure.append(this.canvas);
    this.element.append(
      h("header", { class: "panel-head" }, h("h2", { id: "discrepancy-title" }, "Discrepancies: adhouse logs against partner reports")),
      this.freshness,
      this.caption,
      h("div", { class: "table-scroll" }, this.table),
      h("h3", {}, "Impression difference over time"),
      this.figure,
      this.message,
    );
  }

  feeds(feeds: FeedHealth[]): void {
    this.freshness.textContent = freshnessText(feeds);
  }

  loading(): void {
    this.element.dataset.state = "loading";
    this.message.textContent = "Loading…";
  }

  failed(text: string): void {
    this.element.dataset.state = "error";
    this.message.textContent = text;
  }

  show(report: DiscrepancyResponse): void {
    const threshold = report.threshold_percent;
    this.caption.textContent =
      `Difference = partner − adhouse, in percent of adhouse's count; beyond ±${threshold} % is flagged. ` +
      `Revenue in ${report.currency}; a partner reporting in another currency is compared on impressions only.` +
      (report.truncated ? ` ${truncatedText(report.partners.length)}` : "");
    const cell = (value: number | null, unit: "count" | "currency") => h("td", { class: "num" }, formatValue(value, unit, report.currency));
    const diff = (difference: Difference) =>
      h("td", { class: `num diff diff-${differenceClass(difference, threshold)}` }, differenceText(difference));
    const row = (partner: PartnerDiscrepancy) => {
      const { totals, currencies } = partner;
      return h(
        "tr",
        { "data-partner": partner.partner, "data-feed": partner.feed ?? "", "data-flagged": String(totals.flagged) },
        h("th", { scope: "row" }, rowLabel(partner, report.partners), currencies.some((c) => c !== report.currency) ? h("span", { class: "muted" }, ` (${currencies.join(", ")})`) : null),
        cell(totals.ours.impressions, "count"),
        cell(totals.theirs.impressions, "count"),
        diff(totals.difference.impressions),
        cell(totals.ours.revenue, "currency"),
        cell(totals.theirs.revenue, "currency"),
        diff(totals.difference.revenue),
      );
    };
    fill(
      this.table,
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, "Partner"), ...["Impressions (adhouse)", "Impressions (partner)", "Difference", "Revenue (adhouse)", "Revenue (partner)", "Difference"].map((label) => h("th", { scope: "col", class: "num" }, label))),
      ),
      h("tbody", {}, ...report.partners.map(row)),
    );
    const empty = report.partners.length === 0;
    this.message.textContent = empty ? "No partner numbers or log impressions for this period." : "";
    this.element.dataset.state = empty ? "empty" : "ready";
    this.drawChart(report);
  }

  private drawChart(report: DiscrepancyResponse): void {
    const labels = (report.partners[0]?.periods ?? []).map((period) => formatBucket(period.time ?? "", report.granularity));
    const datasets = report.partners.map((partner, i) => ({
      label: rowLabel(partner, report.partners),
      data: partner.periods.map((period) => period.difference.impressions.percent),
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      pointRadius: 2,
      spanGaps: false,
    }));
    this.figure.dataset.partners = JSON.stringify(report.partners.map((partner) => rowLabel(partner, report.partners)));
    this.canvas.setAttribute("aria-label", `Impression difference in percent per partner over ${labels.length} periods`);
    const options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false as const,
      interaction: { mode: "index" as const, intersect: false },
      scales: { y: { ticks: { callback: (value: string | number) => `${Number(value).toFixed(1)} %` } } },
      plugins: { legend: { position: "bottom" as const } },
    };
    if (this.chart) {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.update();
    } else {
      this.chart = new Chart(this.canvas, { type: "line", data: { labels, datasets }, options });
    }
  }
}
