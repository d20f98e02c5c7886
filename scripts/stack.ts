/**
 * The whole product as `npm start` runs it, as a function (also used by the e2e tests and the
 * benchmarks): starts the sandbox (Postgres over Neon HTTP + vendor emulators), migrates and seeds
 * the database, builds the SPA when `frontend/dist` is missing or older than its sources, then runs
 * `wrangler dev` as a child process with every binding passed as `--var` and waits for `/health`.
 * With `runtime: "miniflare"` the same Worker (wrangler's bundle, same wrangler.toml bindings and
 * vars) runs in Miniflare instead — one workerd process, no dev proxy or inspector
 * (scripts/miniflare-runtime.ts); the benchmark uses it to measure workerd without wrangler dev.
 *
 * `close()` stops wrangler (its whole process group) or Miniflare, and the sandbox. Wrangler's output is kept in
 * a ring buffer (for the error when it dies during start) and optionally forwarded, always with
 * every sandbox secret replaced by `(hidden)`; the `--var` list is never printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startSandbox, type Sandbox, type SandboxService } from "../sandbox/index";
import type { MiniflareRuntime } from "./miniflare-runtime";
import { migrateDatabase, seedDatabase } from "./migrate";

export const ROOT = resolve(import.meta.dirname, "..");

export interface StackOptions {
  /** Worker port; 0 (default) = a free port. */
  port?: number;
  /** Persistent state (Postgres, JWT secret, wrangler's Durable Object/R2 state); a temp dir removed on close when absent. */
  dataDir?: string;
  /** Wipe `dataDir` before starting. */
  fresh?: boolean;
  /** Sandbox ports (see sandbox/index.ts DEFAULT_PORTS); free ports when absent. */
  sandboxPorts?: Partial<Record<SandboxService, number>>;
  /** Receives wrangler's and the emulators' log lines (secrets redacted); silent by default. */
  log?: (line: string) => void;
  /** How long to wait for `/health`. @default 180_000 */
  startTimeoutMs?: number;
  /** Extra Worker bindings passed as `--var` after the sandbox's (e.g. `PIPELINE_CONFIG_JSON` for the benchmark). */
  vars?: Record<string, string>;
  /** What runs the Worker: `wrangler dev` (default; what `npm start` uses) or Miniflare (workerd without the dev proxy/inspector). */
  runtime?: StackRuntime;
  /** Postgres (PGlite) in a worker thread instead of this process's event loop (see sandbox/pg/thread.ts). */
  pgThread?: boolean;
}

export type StackRuntime = "wrangler" | "miniflare";

export interface Stack {
  /** e.g. `http://127.0.0.1:8787` */
  baseUrl: string;
  port: number;
  runtime: StackRuntime;
  sandbox: Sandbox;
  /** Timings of the start phases, in ms. */
  timings: { sandboxMs: number; migrateMs: number; seedMs: number; buildMs: number; wranglerMs: number };
  close(): Promise<void>;
}

/** Binds port 0 on 127.0.0.1 and returns what the OS chose (then frees it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

async function newestMtimeMs(path: string, skip: Set<string>): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) {
    if (skip.has(entry)) continue;
    newest = Math.max(newest, await newestMtimeMs(join(path, entry), skip));
  }
  return newest;
}

function runToCompletion(cmd: string, args: string[], log?: (line: string) => void): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: process.env });
    const tail: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        log?.(line);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolveRun() : reject(new Error(`${args.join(" ")} exited with ${code}:\n${tail.join("\n")}`)),
    );
  });
}

/**
 * Builds the SPA with `vite build` when `frontend/dist/index.html` is missing or older than any
 * frontend source. Without a vite config it only writes a placeholder index.html (if none exists).
 */
export async function ensureSpaBuilt(log?: (line: string) => void): Promise<{ built: boolean }> {
  const dist = join(ROOT, "frontend", "dist");
  const index = join(dist, "index.html");
  const viteConfig = join(ROOT, "vite.config.ts");
  if (!existsSync(viteConfig)) {
    if (!existsSync(index)) {
      await mkdir(dist, { recursive: true });
      await writeFile(index, "<!doctype html><title>Call Me Back</title><p>The SPA has not been built yet.</p>\n");
    }
    return { built: false };
  }
  const builtAt = await newestMtimeMs(index, new Set());
  const sourcesAt = Math.max(
    await newestMtimeMs(join(ROOT, "frontend"), new Set(["dist", "node_modules"])),
    await newestMtimeMs(viteConfig, new Set()),
    await newestMtimeMs(join(ROOT, "contracts"), new Set()),
  );
  if (builtAt > 0 && builtAt >= sourcesAt) return { built: false };
  const vite = join(ROOT, "node_modules", "vite", "bin", "vite.js");
  await runToCompletion(process.execPath, [vite, "build", "--logLevel", "warn"], log);
  return { built: true };
}

/** Keys whose values must never reach a terminal or a log. */
const SECRET_KEY = /(SECRET|TOKEN|KEY|PASSWORD|DATABASE_URL|ACCOUNT_SID|SERVICE_SID)/;

function redactor(env: Record<string, string>): (line: string) => string {
  const secrets = Object.entries(env)
    .filter(([k, v]) => SECRET_KEY.test(k) && v.length >= 6)
    .map(([, v]) => v)
    .sort((a, b) => b.length - a.length);
  return (line) => secrets.reduce((acc, s) => acc.split(s).join("(hidden)"), line);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function healthy(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Sends SIGTERM to the child's process group, SIGKILL after `graceMs`, and waits for it to exit. */
async function stopProcessGroup(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  // workerd may outlive the wrangler process briefly: make sure the group is gone
  signal("SIGKILL");
}

/** Starts sandbox + database + SPA + `wrangler dev`; resolves once `/health` answers 200. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const timings = { sandboxMs: 0, migrateMs: 0, seedMs: 0, buildMs: 0, wranglerMs: 0 };
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : await mkdtemp(join(tmpdir(), "callmeback-stack-"));
  if (opts.fresh && !ownDataDir) await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });

  const port = opts.port || (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  let sandbox: Sandbox | undefined;
  let child: ChildProcess | undefined;
  let miniflare: MiniflareRuntime | undefined;
  const runtime: StackRuntime = opts.runtime ?? "wrangler";

  // If this process exits without close(), the detached wrangler group must not outlive it.
  const killOnExit = (): void => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };

  const cleanup = async (): Promise<void> => {
    const running = child;
    child = undefined;
    process.off("exit", killOnExit);
    if (running) await stopProcessGroup(running);
    const mf = miniflare;
    miniflare = undefined;
    await mf?.close().catch(() => undefined);
    await sandbox?.close();
    sandbox = undefined;
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    let t = performance.now();
    sandbox = await startSandbox({
      ports: opts.sandboxPorts,
      // the database persists only with a caller-chosen dataDir; a temp stack keeps it in memory
      dataDir: ownDataDir ? undefined : dataDir,
      publicBaseUrl: baseUrl,
      log: opts.log,
      pgThread: opts.pgThread,
    });
    timings.sandboxMs = performance.now() - t;
    const env = sandbox.workerEnv;
    const redact = redactor(env);
    const log = opts.log ? (line: string) => opts.log?.(redact(line)) : undefined;

    t = performance.now();
    await migrateDatabase(env.DATABASE_URL as string, env.NEON_FETCH_ENDPOINT);
    timings.migrateMs = performance.now() - t;
    t = performance.now();
    await seedDatabase(env.DATABASE_URL as string, env.NEON_FETCH_ENDPOINT, {
      local: true,
      llmModel: env.LLM_MODEL,
      llmFallbackModel: env.LLM_FALLBACK_MODEL,
    });
    timings.seedMs = performance.now() - t;

    t = performance.now();
    await ensureSpaBuilt(log);
    timings.buildMs = performance.now() - t;

    t = performance.now();
    if (runtime === "miniflare") {
      // loaded only here: it imports wrangler's and Miniflare's Node APIs
      const { startMiniflareRuntime } = await import("./miniflare-runtime");
      miniflare = await startMiniflareRuntime({
        root: ROOT,
        port,
        bundleDir: join(dataDir, "miniflare-bundle"),
        persistDir: join(dataDir, "miniflare"),
        vars: { ...env, ...opts.vars },
        log,
      });
      const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
      while (!(await healthy(baseUrl))) {
        if (Date.now() > deadline) throw new Error(`Miniflare did not answer ${baseUrl}/health in time`);
        await sleep(100);
      }
      timings.wranglerMs = performance.now() - t;
      let closing: Promise<void> | undefined;
      const stackSandbox = sandbox;
      return {
        baseUrl,
        port,
        runtime,
        sandbox: stackSandbox,
        timings,
        close() {
          closing ??= cleanup();
          return closing;
        },
      };
    }
    const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
    const inspectorPort = await freePort();
    const args = [
      wrangler,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      join(dataDir, "wrangler"),
      "--show-interactive-dev-session=false",
      "--live-reload=false",
      // GET /__scheduled?cron=… runs the Worker's scheduled handler (local dev only; Cron Triggers don't fire in dev)
      "--test-scheduled",
      ...Object.entries({ ...env, ...opts.vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ];
    const output: string[] = [];
    let exitInfo: string | undefined;
    child = spawn(process.execPath, args, {
      cwd: ROOT,
      detached: true, // own process group: close() stops wrangler and workerd together
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        CI: process.env.CI ?? "true", // no interactive prompts
        FORCE_COLOR: "0",
      },
    });
    process.once("exit", killOnExit);
    const onData = (chunk: Buffer): void => {
      for (const raw of chunk.toString("utf8").split("\n")) {
        if (!raw.trim()) continue;
        const line = redact(raw);
        output.push(line);
        if (output.length > 60) output.shift();
        log?.(line);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
    });

    const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
    while (!(await healthy(baseUrl))) {
      if (exitInfo) throw new Error(`wrangler dev stopped during start (${exitInfo}). Last output:\n${output.join("\n")}`);
      if (Date.now() > deadline) {
        throw new Error(`wrangler dev did not answer ${baseUrl}/health in time. Last output:\n${output.join("\n")}`);
      }
      await sleep(250);
    }
    timings.wranglerMs = performance.now() - t;

    const running = child;
    running.once("exit", () => {
      if (child === running) log?.(`wrangler dev exited (${exitInfo ?? "unknown"})`);
    });
    const stackSandbox = sandbox;
    let closing: Promise<void> | undefined;
    return {
      baseUrl,
      port,
      runtime,
      sandbox: stackSandbox,
      timings,
      close() {
        closing ??= cleanup();
        return closing;
      },
    };
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}
