import { defineConfig } from "vitest/config";

// Unit tests: pure modules (URL state, time choices, formatting, CSV), no browser, no server.
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
