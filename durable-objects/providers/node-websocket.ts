/**
 * `ConnectWebSocket` for Node (adapter tests, benchmarks, scripts) on the `ws` package. Never
 * imported by Worker/Durable Object code. A refused upgrade rejects with an error carrying the
 * HTTP `status`.
 */
import { createRequire } from "node:module";
import type { ConnectWebSocket, WebSocketLike } from "./types";

type WsModule = typeof import("ws");
const require = createRequire(import.meta.url);

export const connectNodeWebSocket: ConnectWebSocket = (url, headers) =>
  new Promise((resolve, reject) => {
    const { WebSocket } = require("ws") as WsModule;
    const ws = new WebSocket(url, { headers });
    ws.binaryType = "arraybuffer";
    ws.once("open", () => resolve(ws as unknown as WebSocketLike));
    ws.once("unexpected-response", (_req, res) => {
      reject(Object.assign(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once("error", (err) => reject(err));
  });
