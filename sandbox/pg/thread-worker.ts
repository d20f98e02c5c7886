/**
 * Worker-thread body for `startNeonHttpServerInThread` (sandbox/pg/thread.ts): starts the Neon
 * HTTP emulator here, reports its addresses, and closes it when the parent asks.
 */
import { parentPort, workerData } from "node:worker_threads";
import { startNeonHttpServer, type NeonHttpServerOptions } from "./server";
import type { ThreadMessage } from "./thread";

const port = parentPort;
if (!port) throw new Error("sandbox/pg/thread-worker.ts must run in a worker thread");
const post = (m: ThreadMessage): void => port.postMessage(m);

try {
  const server = await startNeonHttpServer(workerData as NeonHttpServerOptions);
  port.on("message", (m: unknown) => {
    if (m !== "close") return;
    server.close().then(
      () => post({ type: "closed" }),
      (err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }),
    );
  });
  post({ type: "ready", url: server.url, port: server.port, connectionString: server.connectionString, fetchEndpoint: server.fetchEndpoint });
} catch (err) {
  post({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
