import { defineConfig } from "vitest/config";

// End-to-end: Debian's chromium (through playwright-core) against the real
// adhouse-api on the local stack, with data in a database of its own
// (e2e/stack.ts). Tests wait for conditions, never for durations; the
// timeouts below only bound a hung run.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.test.ts"],
    environment: "node",
    globalSetup: ["e2e/stack.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
