// The local stack's ClickHouse over HTTP, for seeding and for the
// independent aggregates the tests compare the dashboard with. Values go in
// as server-side query parameters ({name:Type}), never spliced into SQL.

const url = () => {
  const value = process.env.CLICKHOUSE_URL;
  if (!value) throw new Error("CLICKHOUSE_URL is not set: start the local stack (make dev-up) and `set -a; . .dev/env; set +a`");
  return value;
};

export async function clickhouse(sql: string, params: Record<string, string | number> = {}): Promise<string> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) query.set(`param_${name}`, String(value));
  const response = await fetch(`${url()}/?${query}`, {
    method: "POST",
    body: sql,
    headers: {
      "X-ClickHouse-User": process.env.CLICKHOUSE_USER ?? "default",
      "X-ClickHouse-Key": process.env.CLICKHOUSE_PASSWORD ?? "",
    },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse ${response.status}: ${text}\n-- ${sql}`);
  return text;
}

/** Rows of a SELECT, as objects (64-bit integers arrive as strings). */
export async function rows<T = Record<string, string | number>>(sql: string, params: Record<string, string | number> = {}): Promise<T[]> {
  const text = await clickhouse(`${sql} FORMAT JSONEachRow`, params);
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}
