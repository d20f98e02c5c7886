/**
 * `ConnectWebSocket` for workerd (the CallSession Durable Object): opens an outbound WebSocket
 * with `fetch(http(s)://…, { Upgrade: websocket, …auth headers })` — `new WebSocket()` cannot send
 * headers — then `accept()`s it. A refused upgrade rejects with an error carrying `status`.
 */
import type { ConnectWebSocket, WebSocketLike } from "./types";

export const connectWorkerdWebSocket: ConnectWebSocket = async (url, headers) => {
  const resp = await fetch(url.replace(/^ws/, "http"), { headers: { ...headers, Upgrade: "websocket" } });
  const ws = resp.webSocket;
  if (!ws) {
    const body = await resp.text().catch(() => "");
    throw Object.assign(new Error(`WebSocket upgrade refused: HTTP ${resp.status} ${body.slice(0, 200)}`), {
      status: resp.status,
    });
  }
  ws.accept();
  const like: WebSocketLike = {
    get readyState() {
      return ws.readyState;
    },
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    addEventListener: (type: "message" | "close" | "error", listener: (ev: never) => void) => {
      ws.addEventListener(type, listener as (ev: unknown) => void);
    },
  };
  return like;
};
