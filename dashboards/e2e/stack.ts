// Global set-up of the end-to-end suite: a database of its own on the local
// stack (migrated by the real `adhouse-ingester migrate`), seeded events,
// tokens made by the real `adhouse-api token create`, and the real
// `adhouse-api` serving the built dashboard on a free loopback port.
// Everything is removed again at the end.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { TestProject } from "vitest/node";

import { clickhouse } from "./clickhouse";
import { seed } from "./seed";

export const DASHBOARDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = path.resolve(DASHBOARDS, "..");
export const ARTIFACTS = path.join(DASHBOARDS, "test-artifacts");

export interface Stack {
  database: string;
  baseUrl: string;
  /** `revocable` is acme's too, for the test that revokes it. */
  tokens: { acme: string; globex: string; empty: string; revocable: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: Stack;
  }
}

/** Settings shared by every adhouse process of the suite. */
function adhouseEnv(database: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ADHOUSE__CLICKHOUSE__DATABASE: database,
    // Year-old rows stay in raw events, so comparisons can be checked against them.
    ADHOUSE__SCHEMA__EVENTS_TTL_DAYS: "3650",
    ADHOUSE__LOG__LEVEL: "warn",
    ...extra,
  };
}

function binary(name: string): string {
  const file = path.join(REPO, "target", "debug", name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`make build\` first`);
  return file;
}

function run(name: string, args: string[], env: NodeJS.ProcessEnv): string {
  const result = spawnSync(binary(name), args, { cwd: REPO, env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${name} ${args.join(" ")} failed (${result.status}):\n${result.stderr}`);
  return result.stdout.trim();
}

/** The real `adhouse-ingester` with `args` on the suite's database (and `extra` settings); its stdout. */
export function ingester(database: string, args: string[], extra: Record<string, string> = {}): string {
  return run("adhouse-ingester", args, adhouseEnv(database, extra));
}

/** A token made by the real `adhouse-api token create`. */
export function createToken(database: string, tenant: string, timezone = "UTC"): string {
  return run("adhouse-api", ["token", "create", "--tenant", tenant, "--timezone", timezone], adhouseEnv(database));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Polls `/readyz` until the API answers or the process exits. */
async function ready(baseUrl: string, api: ChildProcess): Promise<void> {
  let exited: number | null = null;
  api.once("exit", (code) => (exited = code ?? -1));
  for (;;) {
    if (exited !== null) throw new Error(`adhouse-api exited with ${exited} before it was ready`);
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Api {
  baseUrl: string;
  stop: () => void;
}

/** The real `adhouse-api` serving the built dashboard on `port` (default: a free loopback port), once it is ready. */
export async function startApi(database: string, extra: Record<string, string> = {}, port?: number): Promise<Api> {
  port ??= await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const api = spawn(binary("adhouse-api"), ["serve"], {
    cwd: REPO,
    env: adhouseEnv(database, {
      ADHOUSE__API__LISTEN_ADDR: `127.0.0.1:${port}`,
      ADHOUSE__API__STATIC_DIR: path.join(DASHBOARDS, "dist"),
      // Every request looks its token up, so a revoked token fails at once.
      ADHOUSE__API__TOKEN_CACHE_SECS: "0",
      // No metrics listener: stacks of parallel runs would contend for its port.
      ADHOUSE_API_METRICS_ADDR: "",
      ...extra,
    }),
    stdio: ["ignore", "inherit", "inherit"],
  });
  await ready(baseUrl, api);
  return { baseUrl, stop: () => void api.kill("SIGTERM") };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(path.join(DASHBOARDS, "dist", "index.html"))) throw new Error("dashboards/dist is missing: run `make dashboard` first");
  mkdirSync(ARTIFACTS, { recursive: true });
  const database = `dashboard_e2e_${process.pid}`;
  await clickhouse("DROP DATABASE IF EXISTS {db:Identifier}", { db: database });
  run("adhouse-ingester", ["migrate"], adhouseEnv(database));

  await seed(database, { tenant: "acme", recent: 120_000, yearAgo: 40_000, salt: 100 });
  await seed(database, { tenant: "globex", recent: 20_000, yearAgo: 0, salt: 200 });
  const tokens = {
    acme: createToken(database, "acme"),
    globex: createToken(database, "globex", "Asia/Tokyo"),
    empty: createToken(database, "emptyco"),
    revocable: createToken(database, "acme"),
  };

  // One source with a display name (api.source_labels), the others without.
  const api = await startApi(database, { "ADHOUSE__API__SOURCE_LABELS__CDN-W3C": "CDN (CloudFront)" });
  const baseUrl = api.baseUrl;
  const stack: Stack = { database, baseUrl, tokens };
  writeFileSync(path.join(ARTIFACTS, "stack.json"), JSON.stringify({ database, baseUrl }, null, 2));
  project.provide("stack", stack);

  return async () => {
    api.stop();
    if (process.env.ADHOUSE_E2E_KEEP_DB !== "1") await clickhouse("DROP DATABASE IF EXISTS {db:Identifier}", { db: database });
  };
}
