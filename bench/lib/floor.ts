/**
 * The runtime's floor: what workerd itself costs per call-minute to carry a call's WebSocket
 * traffic, with no application in it. Starts Miniflare (the benchmark's runtime) with a Worker
 * that hands each socket to its own Durable Object, as the real Worker does; the object only
 * `JSON.parse`s each message and `atob`s its payload. `calls` clients each send a Twilio-shaped
 * 20 ms `media` message every 20 ms, phase-shifted like independent calls; with `outbound` the
 * object also sends a 60 ms `media` message back every 60 ms (what Playback sends while the
 * persona speaks). Returns the workerd CPU per call-minute measured from /proc.
 */
import { createRequire } from "node:module";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import type WebSocketType from "ws";
import { CpuSampler } from "./cpu-sampler";
import { ticksPerSecond } from "./cpu";

const WS = createRequire(import.meta.url)("ws") as typeof WebSocketType;

export interface FloorOptions {
  calls: number;
  /** How long the clients send, after a 1 s settle. */
  seconds: number;
  /** Also send one 60 ms message back every 60 ms per call. */
  outbound: boolean;
}

export interface FloorResult extends FloorOptions {
  cpuMs: number;
  cpuMsPerCallMin: number;
  inboundMessages: number;
}

const SCRIPT = `
export class Sess {
  constructor(ctx) { this.ctx = ctx; this.bytes = 0; }
  fetch(req) {
    const outbound = new URL(req.url).searchParams.get("outbound") === "1";
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    server.addEventListener("message", (ev) => { const m = JSON.parse(ev.data); this.bytes += atob(m.media.payload).length; });
    if (outbound) {
      const msg = JSON.stringify({ event: "media", streamSid: "MZfloor", media: { payload: btoa("\\xff".repeat(480)) } });
      const tick = () => { if (server.readyState !== 1) return; server.send(msg); setTimeout(tick, 60); };
      setTimeout(tick, 60);
    }
    return new Response(null, { status: 101, webSocket: client });
  }
}
export default {
  fetch(req, env) { return env.SESS.get(env.SESS.idFromName(new URL(req.url).pathname)).fetch(req); },
};`;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function measureRuntimeFloor(opts: FloorOptions): Promise<FloorResult> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      workers: [{ name: "floor", modules: true, script: SCRIPT, compatibilityDate: "2026-10-20", durableObjects: { SESS: { className: "Sess", useSQLite: true } } }],
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const timers: NodeJS.Timeout[] = [];
  const sockets: WebSocketType[] = [];
  try {
    const url = await mf.ready;
    for (let i = 0; i < opts.calls; i++) {
      const ws = new WS(`ws://127.0.0.1:${url.port}/call-${i}?outbound=${opts.outbound ? 1 : 0}`);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      sockets.push(ws);
    }
    await delay(1000);
    const payload = Buffer.alloc(160, 0xff).toString("base64");
    let inbound = 0;
    const sampler = new CpuSampler(process.pid, (p) => p.comm === "workerd", ticksPerSecond());
    sockets.forEach((ws, i) => {
      let seq = 0;
      const send = () => {
        seq++;
        inbound++;
        ws.send(JSON.stringify({ event: "media", sequenceNumber: String(seq), streamSid: `MZfloor${i}`, media: { track: "inbound", chunk: String(seq), timestamp: String(seq * 20), payload } }));
      };
      timers.push(setTimeout(() => timers.push(setInterval(send, 20)), (i * 20) / opts.calls));
    });
    await delay(opts.seconds * 1000);
    for (const t of timers) clearTimeout(t);
    const cpu = sampler.stop();
    const callMin = (opts.calls * opts.seconds) / 60;
    return { ...opts, cpuMs: cpu.cpuMs, cpuMsPerCallMin: Math.round(cpu.cpuMs / callMin), inboundMessages: inbound };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const ws of sockets) ws.terminate();
    await mf.dispose();
  }
}
