// The bar chart of one metric over time, with the comparison period as a
// second series aligned bucket by bucket (the n-th bucket of each period).

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";

import type { Cell, QueryResponse, Unit } from "../api";
import { formatAxis, formatBucket, formatValue } from "../format";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export interface SeriesView {
  labels: string[];
  current: (number | null)[];
  comparison: (number | null)[] | null;
  comparisonLabels: string[];
  /** Buckets the range covers only in part (cut by the range, or still running): drawn lighter, labelled "partial". */
  partial: boolean[];
}

/** The local parts of an RFC 3339 time with its own offset. */
function localParts(rfc3339: string): { year: number; month: number; day: number; time: string } | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/.exec(rfc3339);
  return match ? { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]), time: match[4] } : null;
}

/** Whether the local time `rfc3339` is where a bucket of `granularity` starts. */
export function startsBucket(rfc3339: string, granularity: string): boolean {
  const parts = localParts(rfc3339);
  if (!parts) return true;
  const midnight = parts.time === "00:00:00";
  switch (granularity) {
    case "minute":
      return parts.time.endsWith(":00");
    case "hour":
      return parts.time.endsWith(":00:00");
    case "day":
      return midnight;
    case "week":
      return midnight && new Date(Date.UTC(parts.year, parts.month - 1, parts.day)).getUTCDay() === 1;
    case "month":
      return midnight && parts.day === 1;
    case "quarter":
      return midnight && parts.day === 1 && (parts.month - 1) % 3 === 0;
    case "year":
      return midnight && parts.day === 1 && parts.month === 1;
    default:
      return true;
  }
}

/**
 * Which buckets are partial: the first when it starts before the range, the
 * last when the range ends inside it, and the one holding `now` when the
 * range runs past now (it is still filling up).
 */
export function partialBuckets(starts: string[], range: { from: string; to: string }, granularity: string, now = Date.now()): boolean[] {
  const from = Date.parse(range.from);
  const to = Date.parse(range.to);
  const running = now < to ? starts.reduce((found, start, i) => (Date.parse(start) <= now ? i : found), -1) : -1;
  return starts.map((start, i) => {
    const cutAtStart = i === 0 && Date.parse(start) < from;
    const cutAtEnd = i === starts.length - 1 && !startsBucket(range.to, granularity);
    return cutAtStart || cutAtEnd || i === running;
  });
}

/** The chart's data from a series response (rows: time first, then metrics). */
export function seriesView(response: QueryResponse, metric: string, granularity: string): SeriesView {
  const index = response.columns.findIndex((column) => column.name === metric);
  const column = (rows: Cell[][]) => rows.map((row) => row[index] as number | null);
  const labels = (rows: Cell[][]) => rows.map((row) => formatBucket(String(row[0]), granularity));
  const current = response.rows;
  const previous = response.comparison?.rows ?? null;
  const partial = partialBuckets(current.map((row) => String(row[0])), response.meta.time_range, granularity);
  return {
    partial,
    labels: labels(current).map((label, i) => (partial[i] ? `${label} (partial)` : label)),
    current: column(current),
    // Aligned by position; a shorter comparison period (a 30-day month
    // against a 31-day one) leaves its last bars empty.
    comparison: previous ? current.map((_, i) => (i < previous.length ? (previous[i][index] as number | null) : null)) : null,
    comparisonLabels: previous ? labels(previous) : [],
  };
}

export class SeriesChart {
  private chart: Chart<"bar", (number | null)[], string> | null = null;

  constructor(
    private readonly figure: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
  ) {}

  /** Whether anything has been drawn yet. */
  get drawn(): boolean {
    return this.chart !== null;
  }

  /** The chart as drawn, as a PNG data URL (null before the first draw). */
  png(): string | null {
    return this.chart?.toBase64Image("image/png", 1) ?? null;
  }

  show(view: SeriesView, metricLabel: string, unit: Unit, currency: string): void {
    // For tests and for assistive technology: the numbers behind the bars.
    this.figure.dataset.labels = JSON.stringify(view.labels);
    this.figure.dataset.current = JSON.stringify(view.current);
    this.figure.dataset.comparison = JSON.stringify(view.comparison);
    this.figure.dataset.partial = JSON.stringify(view.partial);
    this.canvas.setAttribute("aria-label", `${metricLabel} over ${view.labels.length} periods, from ${view.labels[0] ?? ""} to ${view.labels.at(-1) ?? ""}`);

    const datasets = [
      // Partial buckets in a lighter shade, so that a short bar is not read as a drop.
      { label: metricLabel, data: view.current, backgroundColor: view.partial.map((partial) => (partial ? "#93c5fd" : "#2563eb")), borderRadius: 2 },
      ...(view.comparison
        ? [{ label: `${metricLabel} (comparison)`, data: view.comparison, backgroundColor: "#cbd5e1", borderRadius: 2 }]
        : []),
    ];
    const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    const options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduceMotion ? (false as const) : { duration: 250 },
      interaction: { mode: "index" as const, intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0, maxTicksLimit: 12 } },
        y: { beginAtZero: true, ticks: { callback: (value: string | number) => formatAxis(Number(value), unit, currency) } },
      },
      plugins: {
        legend: { display: view.comparison !== null, position: "bottom" as const },
        tooltip: {
          callbacks: {
            title: (items: { dataIndex: number }[]) => view.labels[items[0]?.dataIndex ?? 0] ?? "",
            label: (item: { datasetIndex: number; dataIndex: number; raw: unknown }) => {
              const value = formatValue(item.raw as number | null, unit, currency);
              if (item.datasetIndex === 0) return `${metricLabel}: ${value}`;
              const when = view.comparisonLabels[item.dataIndex];
              return `Comparison${when ? ` (${when})` : ""}: ${value}`;
            },
          },
        },
      },
    };
    if (this.chart) {
      this.chart.data.labels = view.labels;
      this.chart.data.datasets = datasets;
      this.chart.options = options;
      this.chart.update();
    } else {
      this.chart = new Chart(this.canvas, { type: "bar", data: { labels: view.labels, datasets }, options });
    }
  }
}
