/**
 * Shared plumbing for the local vendor emulators: listening on 127.0.0.1, JSON/form bodies,
 * latency/fault knobs, and the common `/__sandbox/*` control surface (knobs, bill, reset).
 * Node only; the emulators never run inside the Worker.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface EmulatorHandle {
  /** Base URL, e.g. `http://127.0.0.1:8791`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = any free port) and resolves the port actually bound. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server and every open connection (keep-alive sockets included). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

export async function readBody(req: IncomingMessage, limitBytes = 10 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limitBytes) throw new Error("body too large");
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** Resolves at `atMs` on the `performance.now()` clock (Node timers fire 0-1 ms after a whole-ms wait). */
export function sleepUntil(atMs: number): Promise<void> {
  const wait = atMs - performance.now();
  return wait <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, Math.floor(wait)));
}

/** `baseMs` ± up to `jitterMs`, never negative. Deterministic when `jitterMs` is 0. */
export function jittered(baseMs: number, jitterMs: number): number {
  return Math.max(0, baseMs + (jitterMs > 0 ? (Math.random() * 2 - 1) * jitterMs : 0));
}

/** A typed bag of knobs with defaults; `set` merges a partial, `reset` restores the defaults. */
export class Knobs<T extends object> {
  private current: T;
  constructor(private readonly defaults: T) {
    this.current = structuredClone(defaults);
  }
  get value(): T {
    return this.current;
  }
  set(partial: Partial<T>): T {
    this.current = { ...this.current, ...partial };
    return this.current;
  }
  reset(): void {
    this.current = structuredClone(this.defaults);
  }
}

export interface ControlHooks {
  knobs: Knobs<object>;
  /** What the vendor would bill, in the vendor's own units. */
  bill(query: URLSearchParams): unknown;
  /** Clears state (calls, sessions, bills) in addition to resetting the knobs. */
  reset(): void;
}

/**
 * Serves `/__sandbox/knobs` (GET/POST), `/__sandbox/bill` (GET) and `/__sandbox/reset` (POST).
 * Returns true when it handled the request.
 */
export async function handleControl(req: IncomingMessage, res: ServerResponse, hooks: ControlHooks): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://sandbox");
  if (!url.pathname.startsWith("/__sandbox/")) return false;
  const route = `${req.method} ${url.pathname}`;
  if (route === "GET /__sandbox/knobs") sendJson(res, 200, hooks.knobs.value);
  else if (route === "POST /__sandbox/knobs") {
    let patch: unknown;
    try {
      patch = JSON.parse((await readBody(req)).toString("utf8") || "{}");
    } catch {
      sendJson(res, 400, { error: "knobs body must be JSON" });
      return true;
    }
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
      sendJson(res, 400, { error: "knobs body must be a JSON object" });
      return true;
    }
    sendJson(res, 200, hooks.knobs.set(patch as Partial<object>));
  } else if (route === "GET /__sandbox/bill") sendJson(res, 200, hooks.bill(url.searchParams));
  else if (route === "POST /__sandbox/reset") {
    hooks.knobs.reset();
    hooks.reset();
    sendJson(res, 200, { ok: true });
  } else return false;
  return true;
}

/** Creates an HTTP server whose handler errors become 500 JSON instead of crashing the process. */
export function createEmulatorServer(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  name: string,
): Server {
  return createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      console.error(`[sandbox:${name}]`, err instanceof Error ? err.message : err);
      if (!res.headersSent) sendJson(res, 500, { error: "emulator error" });
      else res.end();
    });
  });
}

/** Runs queued callbacks at their due times (`performance.now()` clock), strictly in queue order, with a single timer (emulated vendor latency without reordering). */
export class DueQueue {
  private items: Array<{ at: number; fn: () => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  /** Due time (on the `performance.now()` clock) of the newest item; later items never run before it. */
  lastAt = 0;

  get idle(): boolean {
    return this.items.length === 0;
  }

  push(at: number, fn: () => void): void {
    this.lastAt = Math.max(at, this.lastAt);
    this.items.push({ at: this.lastAt, fn });
    this.arm();
  }

  private arm(): void {
    const head = this.items[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.items.length > 0 && this.items[0]!.at <= now + 1) this.items.shift()!.fn();
      this.arm();
    }, Math.max(0, Math.floor(head.at - performance.now())));
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.items = [];
  }
}
