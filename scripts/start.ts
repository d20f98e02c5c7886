/**
 * `npm start`: the whole product, keyless, on this machine. Worker on http://127.0.0.1:8787 with
 * the sandbox on its fixed ports (docs/design.md), state in `.data/` (survives restarts), a short
 * banner, and a clean shutdown on Ctrl-C / SIGTERM. `--fresh` wipes `.data/` first; `--verbose`
 * streams wrangler's and the emulators' logs (secrets redacted).
 */
import { resolve } from "node:path";
import { DEFAULT_PORTS } from "../sandbox/index";
import { startStack, type Stack } from "./stack";

const PORT = Number(process.env.PORT ?? 8787);
const DEMO = { email: "demo@callmeback.ai", password: "demo-pass-123" };

async function main(): Promise<void> {
  const verbose = process.argv.includes("--verbose");
  const fresh = process.argv.includes("--fresh");
  console.log(`Starting Call Me Back (sandbox vendors, data in .data/${fresh ? ", wiped" : ""})…`);
  let stack: Stack | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down…`);
    await stack?.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  stack = await startStack({
    port: PORT,
    dataDir: resolve(".data"),
    fresh,
    sandboxPorts: DEFAULT_PORTS,
    log: verbose ? (line) => console.log(`  │ ${line}`) : undefined,
  });
  const t = stack.timings;
  const total = Math.round(t.sandboxMs + t.migrateMs + t.seedMs + t.buildMs + t.wranglerMs);
  console.log(
    [
      "",
      `  Call Me Back is running: ${stack.baseUrl}`,
      `  Sandbox phone (answer calls here): ${stack.sandbox.urls.twilioPhone}`,
      `  Demo login: ${DEMO.email} / ${DEMO.password}`,
      `  Started in ${(total / 1000).toFixed(1)} s. Ctrl-C to stop.`,
      "",
    ].join("\n"),
  );
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
