import { defineConfig } from "vitest/config";

// Unit tests: pure modules (URL state and its rules, time choices, formatting, CSV, failure kinds), no browser, no server.
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
