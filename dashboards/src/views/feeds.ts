// The sidebar's partner feeds: each live-metrics feed with its health (ok,
// failing with the partner's error, the data's freshness), and the entry to
// the discrepancy report.

import { type ApiClient, failureOf, type FeedHealth } from "../api";
import { fill, h } from "../dom";
import { freshnessText } from "./discrepancy";

export class FeedsMenu {
  readonly element = h("section", { class: "feeds", id: "feeds", "aria-labelledby": "feeds-heading" });
  private readonly list = h("ul", { class: "feed-list", "aria-live": "polite" });
  private readonly freshness = h("p", { class: "freshness muted" });
  private readonly open = h("button", { type: "button", id: "open-discrepancy", class: "secondary" }, "Discrepancy report");
  feedsShown: FeedHealth[] = [];

  /** `unauthorized`: a 401, for the controller; `loaded`: the feeds as read, for the views that show freshness. */
  constructor(
    private readonly client: ApiClient,
    private readonly unauthorized: () => void,
    openReport: () => void,
    private readonly loaded: (feeds: FeedHealth[]) => void,
  ) {
    this.open.addEventListener("click", openReport);
    fill(this.element, h("h2", { class: "sidebar-heading", id: "feeds-heading" }, "Partner feeds"), this.list, this.freshness, this.open);
  }

  async reload(): Promise<void> {
    try {
      this.show((await this.client.feeds()).feeds);
    } catch (error) {
      if (failureOf(error) === "unauthorized") this.unauthorized();
      else this.freshness.textContent = "Feed health is unavailable right now.";
    }
  }

  highlight(open: boolean): void {
    this.open.setAttribute("aria-current", String(open));
  }

  private show(feeds: FeedHealth[]): void {
    this.feedsShown = feeds;
    fill(
      this.list,
      ...feeds.map((feed) =>
        h(
          "li",
          { class: `feed feed-${feed.status}`, "data-feed": feed.feed, title: feed.last_error || `${feed.rows_stored} rows at the last poll` },
          h("span", { class: "feed-dot", "aria-hidden": "true" }),
          h("span", { class: "feed-name" }, feed.feed),
          h("span", { class: "feed-status muted" }, feed.status === "ok" ? "ok" : `failing ×${feed.consecutive_failures}`),
        ),
      ),
    );
    this.freshness.textContent = freshnessText(feeds);
    this.loaded(feeds);
  }
}
