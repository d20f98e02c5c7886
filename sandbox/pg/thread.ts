/**
 * The Neon HTTP emulator (sandbox/pg/server.ts) in its own worker thread: PGlite runs each query
 * synchronously in WASM, so in the main thread every query stalls whatever else shares that event
 * loop (in the benchmark: the Twilio/Deepgram/ElevenLabs emulators timing media frames). Same
 * handle as `startNeonHttpServer`; the HTTP protocol is unchanged. Needs a runtime that can load
 * the worker's TypeScript (tsx passes its loader to worker threads).
 */
import { Worker } from "node:worker_threads";
import type { NeonHttpServer, NeonHttpServerOptions } from "./server";

export type ThreadMessage =
  | { type: "ready"; url: string; port: number; connectionString: string; fetchEndpoint: string }
  | { type: "closed" }
  | { type: "error"; message: string };

const DB_NAME = /^[A-Za-z0-9_-]{1,63}$/;

export function startNeonHttpServerInThread(opts: NeonHttpServerOptions = {}): Promise<NeonHttpServer> {
  const worker = new Worker(new URL("./thread-worker.ts", import.meta.url), { workerData: opts });
  return new Promise((resolveStart, reject) => {
    const onStartExit = (code: number): void => reject(new Error(`Postgres worker thread exited with ${code} during start`));
    worker.once("exit", onStartExit);
    worker.once("error", reject);
    worker.once("message", (m: ThreadMessage) => {
      worker.off("exit", onStartExit);
      if (m.type !== "ready") {
        void worker.terminate();
        reject(new Error(`Postgres worker thread failed to start: ${m.type === "error" ? m.message : m.type}`));
        return;
      }
      let closing: Promise<void> | undefined;
      resolveStart({
        url: m.url,
        port: m.port,
        connectionString: m.connectionString,
        fetchEndpoint: m.fetchEndpoint,
        connectionStringFor(db: string): string {
          if (!DB_NAME.test(db)) throw new Error(`database name must match ${DB_NAME.source}`);
          return `postgresql://sandbox:sandbox@127.0.0.1:${m.port}/${db}`;
        },
        close() {
          closing ??= new Promise<void>((done) => {
            const timer = setTimeout(() => void worker.terminate().then(() => done()), 10_000);
            worker.once("message", () => {
              clearTimeout(timer);
              void worker.terminate().then(() => done());
            });
            worker.once("exit", () => {
              clearTimeout(timer);
              done();
            });
            worker.postMessage("close");
          });
          return closing;
        },
      });
    });
  });
}
