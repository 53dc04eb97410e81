// An outage, told once for the whole page in a marketer's words, with the
// technical details behind a disclosure, and a countdown to the next
// automatic try. The notice only counts and calls `retry`; whoever retries
// calls `show` again if the outage goes on, or `hide` once it is over.

import { ApiProblem } from "../api";
import { fill, h } from "../dom";

export const RETRY_SECS = 10;

export class OutageNotice {
  private readonly headline = h("strong", {});
  // The seconds tick by without being read out each time.
  private readonly countdown = h("span", { class: "countdown", "aria-live": "off" });
  private readonly technical = h("pre", { class: "technical" });
  private ticker: number | undefined;
  private secondsLeft = 0;

  constructor(
    readonly element: HTMLElement,
    private readonly retry: () => void,
  ) {
    element.classList.add("outage");
    fill(
      element,
      h(
        "p",
        { class: "outage-line" },
        h("span", {}, this.headline, " — ", this.countdown),
        h("button", { type: "button", class: "secondary", id: "retry-now", onclick: () => this.retryNow() }, "Retry now"),
      ),
      h("p", { class: "outage-hint" }, "Your report loads again by itself as soon as it is back; nothing is lost."),
      h("details", {}, h("summary", {}, "Technical details"), this.technical),
    );
    element.hidden = true;
  }

  /** Shows (or keeps showing) the outage that `error` reports; a countdown starts unless one is running. */
  show(error: unknown): void {
    this.headline.textContent = headline(error);
    this.technical.textContent = technical(error);
    this.element.hidden = false;
    if (this.ticker === undefined) this.count();
  }

  hide(): void {
    this.stop();
    this.element.hidden = true;
  }

  private count(): void {
    this.secondsLeft = RETRY_SECS;
    this.countdown.textContent = `retrying in ${this.secondsLeft} s`;
    this.ticker = window.setInterval(() => {
      this.secondsLeft -= 1;
      if (this.secondsLeft > 0) this.countdown.textContent = `retrying in ${this.secondsLeft} s`;
      else this.retryNow();
    }, 1000);
  }

  private retryNow(): void {
    this.stop();
    this.countdown.textContent = "retrying now…";
    this.retry();
  }

  private stop(): void {
    window.clearInterval(this.ticker);
    this.ticker = undefined;
  }
}

/** The screen shown when signing in meets an outage: the token is kept and tried again. */
export function renderOutageScreen(root: HTMLElement, retry: () => void, signOut: () => void): OutageNotice {
  const notice = new OutageNotice(h("div", { class: "banner", role: "alert" }), retry);
  fill(
    root,
    h(
      "main",
      { class: "signin-page" },
      h(
        "section",
        { class: "signin", "aria-labelledby": "outage-title" },
        h("h1", { id: "outage-title" }, "adhouse"),
        notice.element,
        h("button", { type: "button", id: "sign-out", class: "secondary", onclick: signOut }, "Sign out"),
      ),
    ),
  );
  return notice;
}

function headline(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.code === "clickhouse_unavailable") return "Reporting database unreachable";
    if (error.code === "network") return "Reporting server unreachable";
    if (error.status === 429) return "The reporting server is busy";
  }
  return "The reporting server ran into a problem";
}

function technical(error: unknown): string {
  if (!(error instanceof ApiProblem)) return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const status = error.status === 0 ? "no HTTP answer" : `HTTP ${error.status}`;
  return `${status} · ${error.code}\n${error.title}: ${error.detail}`;
}
