/**
 * Tiny in-test vendor servers for the adapter tests (Node only): a `ws` WebSocket server that
 * records each connection's URL, headers and messages, and an HTTP server with a per-test handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { WebSocket as WsSocket, WebSocketServer as WsServer } from "ws";

const require = createRequire(import.meta.url);
const { WebSocketServer } = require("ws") as typeof import("ws");

export interface RecordedConnection {
  url: string;
  headers: IncomingMessage["headers"];
  socket: WsSocket;
  text: string[];
  binary: Uint8Array[];
}

export interface TestWsServer {
  url: string;
  connections: RecordedConnection[];
  /** Resolves when `n` connections have been accepted. */
  waitForConnections(n: number): Promise<RecordedConnection>;
  close(): Promise<void>;
}

export async function startWsServer(
  opts: { reject?: (req: IncomingMessage) => number | null; onMessage?: (c: RecordedConnection, data: Buffer, isBinary: boolean) => void } = {},
): Promise<TestWsServer> {
  const server: Server = createServer();
  const wss: WsServer = new WebSocketServer({ noServer: true });
  const connections: RecordedConnection[] = [];
  const waiters: Array<() => void> = [];
  server.on("upgrade", (req, socket, head) => {
    const status = opts.reject?.(req) ?? null;
    if (status) {
      socket.end(`HTTP/1.1 ${status} Rejected\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c: RecordedConnection = { url: req.url ?? "", headers: req.headers, socket: ws, text: [], binary: [] };
      connections.push(c);
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) c.binary.push(new Uint8Array(data));
        else c.text.push(data.toString());
        opts.onMessage?.(c, data, isBinary);
      });
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    async waitForConnections(n) {
      while (connections.length < n) await new Promise<void>((r) => waiters.push(r));
      return connections[n - 1]!;
    },
    async close() {
      for (const c of connections) c.socket.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function startHttpServer(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Polls `pred` every 5 ms (real time) until true, failing after `ms`. */
export async function eventually(pred: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
