// The sidebar's ad accounts: linked accounts grouped by platform (status,
// backfill progress, Re-link), "Connect account" → platform picker → the
// platform's consent page, and on the way back (`?grant=…`) the chooser of
// accounts to link. Errors are told in a marketer's words.

import { ApiProblem, failureOf, type AccountsResponse, type ApiClient, type GrantResponse, type LinkedAccount } from "../api";
import { type Child, fill, h } from "../dom";
import { sameScope, type Scope } from "../state";

/** While a backfill runs, the menu re-reads progress this often. */
const PROGRESS_POLL_MS = 15_000;

/** What a failed call means to the person linking accounts. */
export function linkingMessage(error: unknown, doing: string): string {
  switch (failureOf(error)) {
    case "unauthorized":
      return "Your session ended. Sign in again to manage ad accounts.";
    case "outage":
      return `adhouse could not ${doing} right now. Please try again in a minute.`;
    case "request":
      return error instanceof ApiProblem && error.status === 404
        ? "This connection has expired (connections last an hour). Click Connect account to start again."
        : `adhouse could not ${doing}. ${error instanceof ApiProblem ? error.detail : ""}`.trim();
  }
}

/** `days_done/days_total` as a percentage for the progress bar. */
export function progressPercent(account: LinkedAccount): number {
  const { days_done, days_total } = account.backfill;
  return days_total > 0 ? Math.min(100, Math.round((days_done / days_total) * 100)) : 100;
}

export function isBackfilling(account: LinkedAccount): boolean {
  return account.status === "active" && account.backfill.days_done < account.backfill.days_total;
}

/** Takes `?grant=` off the address (so that a reload does not reopen the chooser) and returns it. */
export function takePendingGrant(): string | null {
  const params = new URLSearchParams(location.search);
  const grant = params.get("grant");
  if (grant === null) return null;
  params.delete("grant");
  const query = params.toString();
  history.replaceState(null, "", `${location.pathname}${query ? "?" + query : ""}${location.hash}`);
  return grant;
}

export class AccountsMenu {
  readonly element = h("section", { class: "accounts", id: "accounts", "aria-labelledby": "accounts-heading" });
  private readonly list = h("div", { class: "account-groups", "aria-live": "polite" });
  private readonly message = h("p", { class: "accounts-message", role: "status" });
  private readonly picker = h("div", { class: "platform-picker", hidden: true });
  private readonly connectButton = h("button", { type: "button", id: "connect-account", class: "secondary" }, "Connect account");
  private readonly dialog = h("dialog", { class: "filter-dialog account-chooser", "aria-label": "Choose accounts to link" });
  private platforms: AccountsResponse["platforms"] = [];
  private timer: number | undefined;
  private closed = false;
  private selected: Scope | null = null;

  /**
   * `unauthorized`: the API no longer accepts the token; the controller signs out (only a 401 does).
   * `select`: the user opened an account's (or a currency's accounts') dashboard.
   */
  constructor(
    private readonly client: ApiClient,
    private readonly unauthorized: () => void,
    private readonly select: (scope: Scope) => void,
  ) {
    this.connectButton.addEventListener("click", () => this.togglePicker());
    fill(
      this.element,
      h("h2", { class: "sidebar-heading", id: "accounts-heading" }, "Ad accounts"),
      this.list,
      this.message,
      this.connectButton,
      this.picker,
      this.dialog,
    );
  }

  /** Loads the accounts; with a grant from the callback, opens its chooser. */
  async start(pendingGrant: string | null): Promise<void> {
    await this.reload();
    if (pendingGrant !== null) await this.choose(pendingGrant);
  }

  /** Marks the view the page shows. */
  highlight(scope: Scope | null): void {
    this.selected = scope;
    for (const button of this.list.querySelectorAll<HTMLButtonElement>("button.account-open")) {
      const shown = JSON.parse(button.dataset.scope ?? "null") as Scope;
      button.setAttribute("aria-current", String(sameScope(shown, scope)));
    }
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    if (this.dialog.open) this.dialog.close();
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  /** Tells a failure, or hands a 401 to the controller. */
  private failed(error: unknown, doing: string): void {
    if (failureOf(error) === "unauthorized") this.unauthorized();
    else this.say(linkingMessage(error, doing));
  }

  private async reload(): Promise<void> {
    window.clearTimeout(this.timer);
    try {
      this.show(await this.client.accounts());
    } catch (error) {
      this.failed(error, "load your ad accounts");
    }
  }

  private show(response: AccountsResponse): void {
    if (this.closed) return;
    this.platforms = response.platforms;
    this.connectButton.hidden = response.platforms.length === 0;
    const groups = this.platformsOf(response).map((platform) => {
      const accounts = response.accounts.filter((account) => account.platform === platform.id);
      return h(
        "div",
        { class: "account-group", "data-platform": platform.id },
        h("h3", { class: "account-platform" }, platformIcon(platform.id), platform.name),
        h("ul", { class: "account-list" }, ...accounts.map((account) => this.item(account))),
      );
    });
    const currencies = currencyViews(response.accounts);
    const all = h(
      "div",
      { class: "account-group all-accounts" },
      h("h3", { class: "account-platform" }, "All accounts"),
      h("ul", { class: "account-list" }, ...currencies.map((currency) => h("li", { class: "account" }, this.opener({ currency }, `All in ${currency}`)))),
    );
    if (groups.length === 0) fill(this.list, h("p", { class: "muted accounts-empty" }, "No ad account linked yet."));
    else fill(this.list, all, ...groups);
    this.highlight(this.selected);
    if (response.accounts.some(isBackfilling)) this.timer = window.setTimeout(() => void this.reload(), PROGRESS_POLL_MS);
  }

  /** Platforms that have accounts, in the order the API lists platforms, then any no longer enabled. */
  private platformsOf(response: AccountsResponse): AccountsResponse["platforms"] {
    const used = new Set(response.accounts.map((account) => account.platform));
    const known = response.platforms.filter((platform) => used.has(platform.id));
    const gone = [...used].filter((id) => !known.some((platform) => platform.id === id)).map((id) => ({ id, name: id }));
    return [...known, ...gone];
  }

  private item(account: LinkedAccount): HTMLElement {
    const relink = (badge: string) =>
      h(
        "span",
        { class: "account-status needs-relink" },
        h("span", { class: "badge badge-warn" }, badge),
        h("button", { type: "button", class: "secondary relink", onclick: () => void this.connect(account.platform) }, "Re-link"),
      );
    const status =
      account.status === "needs_relink"
        ? relink("Needs re-link")
        : account.warning
          ? relink("Re-link soon")
          : isBackfilling(account)
            ? h(
                "span",
                { class: "account-status backfilling" },
                h("progress", {
                  max: account.backfill.days_total,
                  value: account.backfill.days_done,
                  "aria-label": `History fetched for ${account.name}`,
                }),
                h("span", { class: "muted" }, `${account.backfill.days_done}/${account.backfill.days_total} days`),
              )
            : h("span", { class: "account-status" }, h("span", { class: "badge badge-ok" }, "Active"));
    const detail = account.detail ?? account.warning;
    return h(
      "li",
      { class: "account", "data-account": account.id, "data-status": account.status, title: account.detail ?? [account.currency, account.timezone].filter(Boolean).join(" · ") },
      this.opener(
        { platform: account.platform, account: account.id },
        account.name,
        account.kind ? h("span", { class: "account-kind muted" }, ` ${kindLabel(account.kind)}`) : null,
      ),
      status,
      detail ? h("span", { class: "account-detail" }, detail) : null,
    );
  }

  /** A button that opens the dashboard of `scope`. */
  private opener(scope: Scope, ...label: Child[]): HTMLElement {
    return h(
      "button",
      { type: "button", class: "account-open account-name", "data-scope": JSON.stringify(scope), onclick: () => this.select(scope) },
      ...label,
    );
  }

  private togglePicker(): void {
    if (!this.picker.hidden) {
      this.picker.hidden = true;
      return;
    }
    fill(
      this.picker,
      ...this.platforms.map((platform) =>
        h(
          "button",
          { type: "button", class: "secondary platform-choice", "data-platform": platform.id, onclick: () => void this.connect(platform.id) },
          platformIcon(platform.id),
          platform.name,
        ),
      ),
    );
    this.picker.hidden = false;
  }

  /** To the platform's consent page; it sends the browser back to `/?grant=…`. */
  private async connect(platform: string): Promise<void> {
    this.say("Opening the sign-in page…");
    try {
      const { authorize_url } = await this.client.connect(platform);
      location.assign(authorize_url);
    } catch (error) {
      this.failed(error, "start connecting");
    }
  }

  private async choose(grantId: string): Promise<void> {
    let grant: GrantResponse;
    try {
      grant = await this.client.grant(grantId);
    } catch (error) {
      this.failed(error, "read the accounts you gave access to");
      return;
    }
    if (this.closed) return;
    const name = this.platforms.find((platform) => platform.id === grant.platform)?.name ?? grant.platform;
    // Ticked: what the user most likely came for — new accounts, and ones to re-link.
    const boxes = grant.accounts.map((account) =>
      h("input", { type: "checkbox", name: "account", value: account.id, checked: account.active && account.linked !== "active" }),
    );
    const error = h("p", { class: "form-error", role: "alert" });
    const linkButton = h("button", { type: "submit", class: "primary", id: "link-accounts" }, "Link");
    const form = h(
      "form",
      { method: "dialog", class: "dialog-body" },
      h("h2", {}, `Link ${name} accounts`),
      grant.accounts.length === 0
        ? h("p", {}, `This ${name} login gives access to no ad account. Sign in with another user, or ask for access to the account.`)
        : h("p", { class: "muted" }, "Choose the accounts whose numbers adhouse should fetch. Their history is fetched in the background."),
      h(
        "ul",
        { class: "choices" },
        ...grant.accounts.map((account, i) =>
          h(
            "li",
            {},
            h(
              "label",
              {},
              boxes[i],
              ` ${account.name} `,
              h("span", { class: "muted" }, `${account.id}${account.kind ? ` · ${kindLabel(account.kind)}` : ""}${account.currency ? ` · ${account.currency}` : ""}${account.linked === "active" ? " · already linked" : account.linked === "needs_relink" ? " · needs re-link" : ""}${account.active ? "" : " · inactive"}`),
            ),
          ),
        ),
      ),
      error,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "secondary", onclick: () => this.dialog.close() }, "Cancel"),
        linkButton,
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
      if (chosen.length === 0) {
        error.textContent = "Tick at least one account.";
        return;
      }
      linkButton.disabled = true;
      void this.client.link(grant.grant, chosen).then(
        (response) => {
          this.dialog.close();
          this.say(`${chosen.length === 1 ? "1 account" : `${chosen.length} accounts`} linked. Their history is being fetched.`);
          this.show(response);
        },
        (failure) => {
          linkButton.disabled = false;
          if (failureOf(failure) === "unauthorized") this.unauthorized();
          else error.textContent = linkingMessage(failure, "link the accounts");
        },
      );
    });
    fill(this.dialog, form);
    this.dialog.showModal();
  }
}

/**
 * The currencies of the "All in …" views: money of different currencies
 * never adds up, so one view each. Organic accounts (Facebook Pages,
 * Instagram) have no money and no currency, so none of their own.
 */
export function currencyViews(accounts: LinkedAccount[]): string[] {
  return [...new Set(accounts.map((account) => account.currency).filter(Boolean))].sort();
}

/** Yahoo! JAPAN's account kinds as its own products are called. */
function kindLabel(kind: string): string {
  return kind === "search" ? "Search Ads" : kind === "display" ? "Display Ads" : kind;
}

/** A letter in the platform's colour (no third-party logos are bundled). */
function platformIcon(platform: string): HTMLElement {
  return h("span", { class: `platform-icon platform-${platform}`, "aria-hidden": "true" }, platform.slice(0, 1).toUpperCase());
}
