// The adhouse query API as the dashboard sees it: typed requests and
// responses (mirroring query-api/src/query/{request,response}.rs and
// routes/), bearer-token calls, and problem+json errors as one error type.

export type Unit = "count" | "currency" | "percent" | "decimal" | "ratio";

export interface CatalogMetric {
  name: string;
  label: string;
  unit: Unit;
  description: string;
  combine: string;
}

/** What one dataset offers: `logs` (ingested events) or `platforms` (linked ad accounts). */
export interface DatasetCatalog {
  metrics: CatalogMetric[];
  dimensions: { name: string; label: string }[];
}

export interface Catalog extends DatasetCatalog {
  datasets: { logs: DatasetCatalog; platforms: DatasetCatalog };
  granularities: { name: string; max_range_days: number }[];
  presets: string[];
  compare: string[];
  filter_ops: string[];
  limits: { max_rows: number; default_limit: number };
}

export interface FilterRequest {
  dimension: string;
  op: "eq" | "neq" | "in" | "not_in" | "contains";
  value?: string;
  values?: string[];
}

export interface QueryRequest {
  dataset?: "logs" | "platforms" | "partners";
  metrics: string[];
  dimensions?: string[];
  filters?: FilterRequest[];
  time_range: { preset: string } | { from: string; to: string };
  timezone?: string;
  granularity?: string;
  compare?: string;
  order_by?: { field: string; direction: "asc" | "desc" }[];
  limit?: number;
}

/** A metric value: a count, an exact decimal (money), a percent, or null (ratio over zero). */
export type MetricValue = number | null;
export type Cell = string | MetricValue;

export interface Column {
  name: string;
  label: string;
  kind: "time" | "dimension" | "metric";
  type: string;
  unit?: Unit;
}

export interface ResolvedRange {
  from: string;
  to: string;
  timezone: string;
}

export interface QueryResponse {
  columns: Column[];
  rows: Cell[][];
  totals: Record<string, MetricValue>;
  comparison?: {
    time_range: ResolvedRange;
    /** Set when no table still holds the comparison period; `rows`, `totals` and `change` are then absent (never zeros). */
    unavailable?: ComparisonUnavailable;
    rows: Cell[][];
    totals: Record<string, MetricValue>;
    change: Record<string, { absolute: MetricValue; percent: number | null }>;
  };
  /** Display names of the ids in `rows` (dimension → id → name): platform entities, configured log source names. */
  labels?: Record<string, Record<string, string>>;
  /** `currency`: platforms, the currency of every money value. */
  meta: { table: string; granularity: string; time_range: ResolvedRange; currency?: string; level?: string };
}

export interface ComparisonUnavailable {
  code: string;
  reason: string;
  setting: string;
  retention_days: number;
}

export interface ValuesResponse {
  dimension: string;
  /** `label`: a display name, where the operator configured one (sources). */
  values: { value: string; label?: string; impressions: number; requests: number }[];
}

/** An enabled ad platform (`GET /api/v1/accounts`). */
export interface AdPlatform {
  id: string;
  name: string;
}

/** A linked ad account (query-api/src/accounts/listing.rs `AccountView`). */
export interface LinkedAccount {
  platform: string;
  id: string;
  /** The platform's product where it has several (Yahoo! JAPAN: "search", "display"). */
  kind?: string;
  name: string;
  currency: string;
  timezone: string;
  status: "active" | "needs_relink";
  /** For needs_relink: what happened, in plain words. */
  detail?: string;
  linked_at: string;
  last_sync_at: string | null;
  last_error: string;
  backfill: { since: string; until: string; days_done: number; days_total: number };
  /** When the grant ends by itself (Meta's ~60-day tokens). */
  grant_ends_at?: string;
  /** Set in the grant's last two weeks: what to do, in plain words. */
  warning?: string;
}

export interface AccountsResponse {
  platforms: AdPlatform[];
  accounts: LinkedAccount[];
}

/** The accounts an OAuth grant can see (`GET /api/v1/accounts/grants/{id}`). */
export interface GrantResponse {
  grant: string;
  platform: string;
  accounts: { id: string; kind?: string; name: string; currency: string; timezone: string; active: boolean; linked: "active" | "needs_relink" | null }[];
}

/** `POST /api/v1/discrepancy` (query-api/src/query/discrepancy.rs). */
export interface DiscrepancyRequest {
  time_range: { preset: string } | { from: string; to: string };
  timezone?: string;
  granularity: string;
  threshold_percent: number;
}

export interface Difference {
  /** theirs − ours, exact; null when revenue is not comparable. */
  absolute: MetricValue;
  /** In percent of ours; null when ours is zero or not comparable. */
  percent: number | null;
}

export interface Compared {
  time?: string;
  ours: { impressions: number; revenue: MetricValue };
  theirs: { impressions: number; revenue: MetricValue };
  difference: { impressions: Difference; revenue: Difference };
  flagged: boolean;
}

export interface PartnerDiscrepancy {
  partner: string;
  /** The feed whose numbers these are; null when no feed reports the partner. A partner has one row per feed. */
  feed: string | null;
  currencies: string[];
  revenue_comparable: boolean;
  totals: Compared;
  periods: Compared[];
}

export interface DiscrepancyResponse {
  /** The logs' currency: every revenue value's. */
  currency: string;
  threshold_percent: number;
  granularity: string;
  time_range: ResolvedRange;
  /** More partners had impressions than the report covers (the most on either side). */
  truncated: boolean;
  partners: PartnerDiscrepancy[];
}

/** A live-metrics feed's health (`GET /api/v1/feeds`). */
export interface FeedHealth {
  feed: string;
  status: "ok" | "failing";
  last_attempt_at: string;
  /** The data is as of this poll; null until one succeeded. */
  last_success_at: string | null;
  last_error: string;
  consecutive_failures: number;
  rows_stored: number;
  rows_quarantined: number;
}

/** An RFC 9457 problem document, or a transport failure described the same way. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(`${title}: ${detail}`);
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/**
 * What a failed call means for the page, decided here only:
 * - `unauthorized`: the token is not (or no longer) accepted; the one reason to sign out.
 * - `request`: this request is at fault (4xx), or the query was too heavy (504,
 *   whose detail says how to narrow it); retrying it as it is would not help.
 * - `outage`: the service is: the API unreachable (status 0), rate-limited (429) or
 *   failing (5xx, ClickHouse down); the same request may well succeed later. An
 *   error that is no problem document at all counts here too.
 */
export type Failure = "unauthorized" | "request" | "outage";

export function failureOf(error: unknown): Failure {
  if (!(error instanceof ApiProblem)) return "outage";
  if (error.unauthorized) return "unauthorized";
  if (error.status === 0 || error.status === 429 || (error.status >= 500 && error.status !== 504)) return "outage";
  return "request";
}

export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly base = "",
  ) {}

  catalog(signal?: AbortSignal): Promise<Catalog> {
    return this.call("GET", "/api/v1/catalog", undefined, signal);
  }

  sources(signal?: AbortSignal): Promise<ValuesResponse> {
    return this.call("GET", "/api/v1/sources", undefined, signal);
  }

  /** When the tenant's newest event happened (`null`: none in `lookback_days`). */
  freshness(): Promise<{ latest_event_at: string | null; lookback_days: number }> {
    return this.call("GET", "/api/v1/freshness", undefined);
  }

  dimensionValues(dimension: string, search: string, signal?: AbortSignal): Promise<ValuesResponse> {
    const params = new URLSearchParams({ limit: "100" });
    if (search) params.set("search", search);
    return this.call("GET", `/api/v1/dimensions/${encodeURIComponent(dimension)}/values?${params}`, undefined, signal);
  }

  query(request: QueryRequest, signal?: AbortSignal): Promise<QueryResponse> {
    return this.call("POST", "/api/v1/query", request, signal);
  }

  discrepancy(request: DiscrepancyRequest, signal?: AbortSignal): Promise<DiscrepancyResponse> {
    return this.call("POST", "/api/v1/discrepancy", request, signal);
  }

  feeds(): Promise<{ feeds: FeedHealth[] }> {
    return this.call("GET", "/api/v1/feeds", undefined);
  }

  accounts(): Promise<AccountsResponse> {
    return this.call("GET", "/api/v1/accounts", undefined);
  }

  /** The platform's consent page, to navigate to. */
  connect(platform: string): Promise<{ authorize_url: string }> {
    return this.call("POST", "/api/v1/accounts/connect", { platform });
  }

  grant(id: string): Promise<GrantResponse> {
    return this.call("GET", `/api/v1/accounts/grants/${encodeURIComponent(id)}`, undefined);
  }

  link(grant: string, accountIds: string[]): Promise<AccountsResponse> {
    return this.call("POST", "/api/v1/accounts", { grant, account_ids: accountIds });
  }

  private async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        signal,
        headers: {
          Authorization: `Bearer ${this.token}`,
          Accept: "application/json, application/problem+json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiProblem(0, "network", "The API is not reachable", "Check your connection or whether adhouse-api is running.");
    }
    if (response.ok) return (await response.json()) as T;
    throw await problemOf(response);
  }
}

async function problemOf(response: Response): Promise<ApiProblem> {
  const fallback = new ApiProblem(response.status, "http_" + response.status, response.statusText || "Request failed", `HTTP ${response.status}`);
  try {
    const problem = (await response.json()) as Partial<{ code: string; title: string; detail: string; field: string }>;
    return new ApiProblem(
      response.status,
      problem.code ?? fallback.code,
      problem.title ?? fallback.title,
      problem.detail ?? fallback.detail,
      problem.field,
    );
  } catch {
    return fallback;
  }
}
