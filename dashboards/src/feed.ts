// One panel's data: the request it shows and the request in flight. A panel
// re-requests only when its own request changes (compared as JSON), and an
// answer that a newer request has overtaken is dropped.

import type { ApiClient } from "./api";

export type FeedResult = { kind: "render" } | { kind: "superseded" } | { kind: "error"; error: unknown };

/** How a panel's request is sent: a query, or the discrepancy report. */
export type Fetcher<Request, Response> = (client: ApiClient, request: Request, signal: AbortSignal) => Promise<Response>;

export class Feed<Request, Response> {
  private shownKey: string | null = null;
  private inFlight: AbortController | null = null;
  response: Response | null = null;

  constructor(private readonly fetcher: Fetcher<Request, Response>) {}

  /**
   * Fetches unless `request` is what the panel already shows (`force`
   * refetches). `render` means the panel should show `response` now;
   * `superseded` that a newer call owns the panel.
   */
  async load(client: ApiClient, request: Request, force: boolean, onStart: () => void): Promise<FeedResult> {
    const key = JSON.stringify(request);
    if (!force && key === this.shownKey) return this.inFlight ? { kind: "superseded" } : { kind: "render" };
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    this.shownKey = key;
    onStart();
    try {
      const response = await this.fetcher(client, request, abort.signal);
      if (abort.signal.aborted) return { kind: "superseded" };
      this.inFlight = null;
      this.response = response;
      return { kind: "render" };
    } catch (error) {
      if (abort.signal.aborted) return { kind: "superseded" };
      this.inFlight = null;
      this.shownKey = null;
      this.response = null;
      return { kind: "error", error };
    }
  }

  reset(): void {
    this.inFlight?.abort();
    this.inFlight = null;
    this.shownKey = null;
    this.response = null;
  }
}
