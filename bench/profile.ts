/**
 * Where the Worker/Durable Object CPU goes during calls: starts the stack, runs a few scripted
 * calls (the benchmark's latency scenario, persona voice at 60 ms/char) while a V8 sampling
 * profile of the Worker isolate is taken through wrangler dev's inspector, and prints the
 * functions with the most self time plus the workerd CPU per call-minute. With `--dump <file>`
 * it also writes every call's outbound frame arrivals (the tap) for offline pacing analysis.
 * `--silent` makes the callee say nothing after the greeting (what an open stream alone costs;
 * `--silent-s` sets how long: two lengths separate the per-call fixed cost from the per-minute one);
 * `--cpu-only` skips the profiler (it costs workerd CPU itself); with it, `--runtime miniflare` runs
 * the calls on Miniflare instead of wrangler dev (the benchmark's default runtime).
 * Run: `npx tsx bench/profile.ts [--calls 4] [--turns 4] [--silent [--silent-s 25]] [--spec off] [--cpu-only [--runtime miniflare]] [--dump /tmp/taps.json]`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import type WebSocketType from "ws";
import { startStack } from "../scripts/stack";
import { processTree, ticksPerSecond } from "./lib/cpu";
import { CpuSampler } from "./lib/cpu-sampler";
import { runCalls, streamSeconds } from "./lib/driver";
import { analysePlayback } from "./lib/frames";
import type { Scenario } from "../sandbox/twilio/scenario";
import { latencyScenario } from "./lib/scenarios";
import { personaIdBySlug, provisionUsers } from "./lib/users";

const WS = createRequire(import.meta.url)("ws") as typeof WebSocketType;

const { values: flags } = parseArgs({
  options: { calls: { type: "string" }, turns: { type: "string" }, dump: { type: "string" }, spec: { type: "string" }, silent: { type: "boolean", default: false }, "silent-s": { type: "string" }, "cpu-only": { type: "boolean", default: false }, runtime: { type: "string" } },
});
const calls = Number(flags.calls ?? 4);
/** `--silent`: the callee says nothing after the greeting for `--silent-s` (25) s (the cost of an open stream). */
const SILENT: Scenario = { name: "bench-silent", rings: 1, steps: [{ wait: Number(flags["silent-s"] ?? 25) * 1000 }, { hangup: true }] };
const turns = Number(flags.turns ?? 4);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function inspectorPort(): number {
  for (const p of processTree(process.pid)) {
    if (p.comm !== "node") continue;
    const args = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
    const i = args.indexOf("--inspector-port");
    if (i >= 0) return Number(args[i + 1]);
  }
  throw new Error("wrangler's inspector port not found");
}

class Cdp {
  private id = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private constructor(private readonly ws: WebSocketType) {
    ws.on("message", (d) => {
      const msg = JSON.parse(String(d)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result);
    });
  }
  static async open(url: string): Promise<Cdp> {
    const ws = new WS(url);
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    return new Cdp(ws);
  }
  send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.id;
    return new Promise((r) => {
      this.pending.set(id, r);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  close(): void {
    this.ws.close();
  }
}

function topSelf(profile: Profile, n: number): string[] {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    const f = node.callFrame;
    const file = f.url.split("/").slice(-2).join("/") || "(native)";
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    if (f.functionName !== "(idle)" && f.functionName !== "(program)") total += us;
  }
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  return [`non-idle sampled: ${(total / 1000).toFixed(0)} ms`, "by function (self):", ...fmt(byFn), "by file (self):", ...fmt(byFile)];
}

async function openProfiler(): Promise<Cdp> {
  const port = inspectorPort();
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { title?: string; webSocketDebuggerUrl?: string }[];
  console.log(`inspector targets: ${targets.map((t) => t.title).join(", ")}`);
  const target = targets.find((t) => t.webSocketDebuggerUrl && !String(t.title).includes("proxy")) ?? targets[0];
  if (!target?.webSocketDebuggerUrl) throw new Error("no inspector target");
  const cdp = await Cdp.open(target.webSocketDebuggerUrl);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await cdp.send("Profiler.start");
  return cdp;
}

async function main(): Promise<void> {
  const vars = flags.spec === "off" ? { PIPELINE_CONFIG_JSON: JSON.stringify({ speculation: false }) } : undefined;
  const runtime = flags.runtime === "miniflare" ? "miniflare" : "wrangler";
  if (runtime === "miniflare" && !flags["cpu-only"]) throw new Error("--runtime miniflare has no inspector: add --cpu-only");
  const stack = await startStack({ vars, runtime });
  try {
    const env = stack.sandbox.workerEnv;
    const us = await provisionUsers({ baseUrl: stack.baseUrl, databaseUrl: env.DATABASE_URL as string, neonFetchEndpoint: env.NEON_FETCH_ENDPOINT as string }, calls, "bench-prof");
    const personaId = await personaIdBySlug(stack.baseUrl, "brad");
    stack.sandbox.emulators.twilio.knobs.set({ ringMs: 500, dialMs: 100 });
    // --cpu-only: no inspector session (the profiler itself costs workerd CPU).
    const cdp = flags["cpu-only"] ? null : await openProfiler();
    const sampler = new CpuSampler(process.pid, (p) => p.comm === "workerd", ticksPerSecond());
    const runs = await runCalls({ baseUrl: stack.baseUrl, twilio: stack.sandbox.emulators.twilio, personaId, users: us, scenarioFor: (i) => (flags.silent ? SILENT : latencyScenario(turns, i)), staggerMs: 1000 });
    const cpu = sampler.stop();
    const res = cdp ? ((await cdp.send("Profiler.stop")) as { profile: Profile }) : null;
    cdp?.close();
    const minutes = runs.reduce((a, r) => a + (r.call ? streamSeconds(r.call) / 60 : 0), 0);
    console.log(`workerd CPU ${cpu.cpuMs.toFixed(0)} ms over ${minutes.toFixed(2)} call-min = ${(cpu.cpuMs / minutes).toFixed(0)} ms/call-min`);
    if (res) for (const line of topSelf(res.profile, 25)) console.log(line);
    for (const r of runs) {
      if (!r.tap) continue;
      const a = analysePlayback(r.tap.events, 200);
      console.log(`call ${r.callId}: turns ${a.turns.length} frames ${a.frames} underruns ${a.underruns} dropped ${a.droppedFrames} maxLead ${a.maxLeadMs.toFixed(0)}`);
    }
    if (flags.dump) writeFileSync(flags.dump, JSON.stringify(runs.map((r) => ({ callId: r.callId, events: r.tap?.events ?? [], said: r.call?.said ?? [] }))));
  } finally {
    await stack.close();
  }
}

await main();
