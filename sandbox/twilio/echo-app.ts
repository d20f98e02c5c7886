/**
 * A minimal stand-in for the product's call loop, used by the emulator's tests and its load
 * check: an HTTP server that answers TwiML and records (and validates, with twilio-node's
 * `validateRequest`) every callback, plus a Media Stream WebSocket endpoint that validates the
 * upgrade signature, greets with sandbox-voice audio + a mark, replies after the callee speaks,
 * and optionally sends `clear` when the callee barges in. It is deliberately naive (no pacing).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createRequire } from "node:module";
import type WebSocketType from "ws";
import type { WebSocketServer as WebSocketServerType } from "ws";
import twilio from "twilio";
import { FRAME_BYTES, SpeechDecoder, encodeSpeech } from "../codec/speech-codec";
import { closeServer, listen, readBody } from "../shared/emulator";

const wsLib = createRequire(import.meta.url)("ws") as { WebSocketServer: typeof WebSocketServerType };

export interface EchoAppOptions {
  authToken: string;
  /** Spoken (as sandbox voice) right after `start`. Empty = no greeting. */
  greeting?: string;
  /** What to answer to each callee utterance; `null` = stay silent. */
  reply?: (heard: string) => string | null;
  /** Send `clear` when the callee starts speaking while marks are outstanding. */
  clearOnBargeIn?: boolean;
  /** Close the media socket after sending this many replies. */
  closeAfterReplies?: number;
  msPerChar?: number;
  /** Extra TwiML verbs after `</Connect>`. */
  afterConnect?: string;
  /** `<Parameter>`s for the stream. */
  parameters?: Record<string, string>;
  /** Answer TwiML requests with this status (to test application errors). */
  twimlStatus?: number;
}

export interface RecordedCallback {
  path: string;
  params: Record<string, string>;
  /** twilio.validateRequest accepted the X-Twilio-Signature. */
  valid: boolean;
}

export interface StreamSession {
  signatureValid: boolean;
  start: unknown;
  events: { event: string; at: number; seq?: string; digit?: string; name?: string; chunk?: string; timestamp?: string }[];
  /** What the app "transcribed" from the inbound audio, per utterance. */
  heard: string[];
  marksSent: string[];
  marksEchoed: { name: string; at: number }[];
  sentAt: Map<string, number>;
  closed: boolean;
}

export interface EchoApp {
  url: string;
  twimlUrl: string;
  statusUrl: string;
  streamStatusUrl: string;
  amdUrl: string;
  wsUrl: string;
  callbacks: RecordedCallback[];
  sessions: StreamSession[];
  /** Sends text as sandbox-voice audio followed by a mark on every open stream. */
  speak(text: string, mark: string): void;
  close(): Promise<void>;
}

export async function startEchoApp(opts: EchoAppOptions): Promise<EchoApp> {
  const callbacks: RecordedCallback[] = [];
  const sessions: StreamSession[] = [];
  const sockets = new Set<{ ws: WebSocketType; session: StreamSession; streamSid: string }>();
  let base = "";
  const twimlFor = (): string => {
    const params = Object.entries(opts.parameters ?? {})
      .map(([k, v]) => `<Parameter name="${k}" value="${v}"/>`)
      .join("");
    return `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="${base.replace("http", "ws")}/media" statusCallback="${base}/stream-status">${params}</Stream></Connect>${opts.afterConnect ?? ""}</Response>`;
  };

  const server: Server = createServer((req: IncomingMessage, res) => {
    void (async () => {
      const raw = (await readBody(req)).toString("utf8");
      const params = Object.fromEntries(new URLSearchParams(raw));
      const full = `${base}${req.url ?? "/"}`;
      const sig = String(req.headers["x-twilio-signature"] ?? "");
      const valid = twilio.validateRequest(opts.authToken, sig, full, params);
      callbacks.push({ path: (req.url ?? "/").split("?")[0] ?? "/", params: req.method === "GET" ? Object.fromEntries(new URL(full).searchParams) : params, valid });
      if (req.url?.startsWith("/twiml")) {
        if (opts.twimlStatus && opts.twimlStatus !== 200) {
          res.writeHead(opts.twimlStatus).end("nope");
          return;
        }
        res.writeHead(200, { "content-type": "text/xml" }).end(twimlFor());
        return;
      }
      res.writeHead(204).end();
    })();
  });

  const send = (entry: { ws: WebSocketType; session: StreamSession; streamSid: string }, text: string, mark: string): void => {
    const { audio } = encodeSpeech(text, opts.msPerChar ?? 60);
    for (let i = 0; i < audio.length; i += FRAME_BYTES) {
      entry.ws.send(JSON.stringify({ event: "media", streamSid: entry.streamSid, media: { payload: Buffer.from(audio.subarray(i, i + FRAME_BYTES)).toString("base64") } }));
    }
    entry.ws.send(JSON.stringify({ event: "mark", streamSid: entry.streamSid, mark: { name: mark } }));
    entry.session.marksSent.push(mark);
    entry.session.sentAt.set(mark, Date.now());
  };

  const wss = new wsLib.WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const sig = String(req.headers["x-twilio-signature"] ?? "");
    const signatureValid = twilio.validateRequest(opts.authToken, sig, `${base.replace("http", "ws")}${req.url ?? ""}`, {});
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session: StreamSession = { signatureValid, start: null, events: [], heard: [], marksSent: [], marksEchoed: [], sentAt: new Map(), closed: false };
      sessions.push(session);
      const entry = { ws, session, streamSid: "" };
      const decoder = new SpeechDecoder();
      let current = "";
      let silentFrames = 0;
      let replies = 0;
      let outstanding = 0;
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as {
          event: string;
          sequenceNumber?: string;
          streamSid?: string;
          start?: unknown;
          media?: { payload: string; chunk: string; timestamp: string };
          mark?: { name: string };
          dtmf?: { digit: string };
        };
        session.events.push({
          event: msg.event,
          at: Date.now(),
          ...(msg.sequenceNumber !== undefined ? { seq: msg.sequenceNumber } : {}),
          ...(msg.dtmf ? { digit: msg.dtmf.digit } : {}),
          ...(msg.mark ? { name: msg.mark.name } : {}),
          ...(msg.media ? { chunk: msg.media.chunk, timestamp: msg.media.timestamp } : {}),
        });
        if (msg.event === "start") {
          session.start = msg.start;
          entry.streamSid = msg.streamSid ?? "";
          sockets.add(entry);
          if (opts.greeting) {
            send(entry, opts.greeting, "greeting");
            outstanding++;
          }
        } else if (msg.event === "mark" && msg.mark) {
          session.marksEchoed.push({ name: msg.mark.name, at: Date.now() });
          outstanding = Math.max(0, outstanding - 1);
        } else if (msg.event === "media" && msg.media) {
          const d = decoder.push(new Uint8Array(Buffer.from(msg.media.payload, "base64")));
          if (d.voiced) {
            if (current === "" && outstanding > 0 && opts.clearOnBargeIn) {
              ws.send(JSON.stringify({ event: "clear", streamSid: entry.streamSid }));
            }
            silentFrames = 0;
            current += d.chars.map((c) => c.char).join("");
          } else if (current !== "" && ++silentFrames >= 10) {
            session.heard.push(current);
            const answer = opts.reply?.(current) ?? null;
            current = "";
            if (answer) {
              replies++;
              send(entry, answer, `reply-${replies}`);
              outstanding++;
            }
            if (opts.closeAfterReplies !== undefined && replies >= opts.closeAfterReplies) {
              setTimeout(() => ws.close(1000), 50);
            }
          }
        }
      });
      ws.on("close", () => {
        session.closed = true;
        sockets.delete(entry);
      });
    });
  });

  const port = await listen(server, 0);
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    twimlUrl: `${base}/twiml`,
    statusUrl: `${base}/status`,
    streamStatusUrl: `${base}/stream-status`,
    amdUrl: `${base}/amd`,
    wsUrl: `${base.replace("http", "ws")}/media`,
    callbacks,
    sessions,
    speak(text, mark) {
      for (const e of sockets) send(e, text, mark);
    },
    async close() {
      for (const e of sockets) e.ws.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}
