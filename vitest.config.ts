/**
 * One Vitest run, four projects:
 * - `workers`: integration tests inside workerd (vitest Workers plugin) against real Postgres
 *   (PGlite behind the local Neon HTTP endpoint) and the vendor emulators, started in
 *   `test/workers/global-setup.ts` and passed to the Worker as bindings.
 * - `node`: pure modules (pipeline, codecs, providers with fakes) and the vendor emulators driven
 *   by the vendors' official SDKs.
 * - `frontend`: Vue components, stores and composables in happy-dom.
 * - `e2e`: the whole product as `npm start` runs it (wrangler dev + emulators) driven over HTTP,
 *   WebSockets and a real headless Chromium.
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Console output of passing tests is noise (every request logs a JSON line); failures keep theirs.
    silent: "passed-only",
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ["default", ["json", { outputFile: ".tmp/vitest-report.json" }]],
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: inject("workerEnv") },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["test/workers/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: [
            "durable-objects/**/*.test.ts",
            "worker/**/*.test.ts",
            "sandbox/**/*.test.ts",
            "scripts/**/*.test.ts",
            "test/node/**/*.test.ts",
          ],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [vue()],
        test: {
          name: "frontend",
          environment: "happy-dom",
          include: ["frontend/src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
