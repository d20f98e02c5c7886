/**
 * Load check for the Twilio emulator: N simultaneous calls (default 100), each with a
 * bidirectional media stream to the echo endpoint (echo-app.ts, run in a child process so its
 * CPU is not counted), a callee that talks five times and an app that answers each time.
 * Prints the emulator process's CPU use while all streams are live, and whether every call
 * completed with the expected transcript. Run: `npx tsx sandbox/twilio/load-check.ts [N]`.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startEchoApp } from "./echo-app";
import { emulatorClient } from "./sdk";
import { startTwilioEmulator } from "./server";

const ACCOUNT = "AC" + "e".repeat(32);
const TOKEN = "load-check-token";

async function echoChild(): Promise<void> {
  const a = await startEchoApp({ authToken: TOKEN, greeting: "Hi, this is your reminder call.", reply: (t) => `Got it: ${t}` });
  process.stdout.write(`${a.twimlUrl}\n`);
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100);
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--echo"], { stdio: ["ignore", "pipe", "inherit"] });
  const twimlUrl = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(String(d).trim())));
  const emu = await startTwilioEmulator({ accountSid: ACCOUNT, authToken: TOKEN });
  emu.knobs.set({ ringMs: 100, dialMs: 50 });
  const client = emulatorClient(emu.url, ACCOUNT, TOKEN);
  const steps = [
    { say: "Hello?", pauseMs: 200 },
    ...["Yes it is.", "Tomorrow works.", "At nine please.", "Thanks a lot."].map((say) => ({ say, personaSilentMs: 400 })),
    { hangup: true as const, personaSilentMs: 600 },
  ];
  const numbers = Array.from({ length: n }, (_, i) => `+1555100${String(i).padStart(4, "0")}`);
  for (const to of numbers) emu.setPhone(to, { scenario: { rings: 1, steps } });

  const sids = await Promise.all(numbers.map((to) => client.calls.create({ to, from: "+15005550006", url: twimlUrl }).then((c) => c.sid)));
  // Measure while every call is in progress (after all answered, before the first hangs up).
  while (emu.calls().some((c) => c.status !== "in-progress")) await new Promise((r) => setTimeout(r, 20));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 5000));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const live = emu.calls().filter((c) => c.status === "in-progress").length;
  await Promise.all(sids.map((sid) => emu.waitForCall(sid, 120_000)));
  const calls = emu.calls();
  const ok = calls.filter((c) => c.status === "completed" && c.said.length === 5 && c.heard.length >= 5).length;
  const lag = calls.map((c) => c.said[1]?.responseLatencyMs ?? Number.NaN).filter(Number.isFinite).sort((a, b) => a - b);
  console.log(
    JSON.stringify(
      {
        calls: n,
        liveDuringMeasurement: live,
        cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
        cpuMsPerCallSecond: Math.round(((cpu.user + cpu.system) / 1000 / (wallMs / 1000) / live) * 100) / 100,
        completedWithFullTranscript: ok,
        echoResponseLatencyMs: { p50: lag[Math.floor(lag.length / 2)], p95: lag[Math.floor(lag.length * 0.95)] },
      },
      null,
      2,
    ),
  );
  child.kill();
  await emu.close();
}

if (process.argv.includes("--echo")) void echoChild();
else void main();
