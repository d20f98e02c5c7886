/**
 * The Twilio emulator: the Voice REST API (Calls create/fetch/update/list, Usage Records), Verify
 * v2 (SMS codes into the sandbox phones' inboxes) and Messages, with Twilio's JSON shapes and
 * errors, plus the sandbox control surface (`/__sandbox/{knobs,bill,reset}`, call records,
 * per-number callee scenarios, SMS inboxes) and the keyless phone page at `/phone`.
 * Calls themselves are run by call.ts on one shared 20 ms ticker.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Duplex } from "node:stream";
import type WebSocketType from "ws";
import type { WebSocketServer as WebSocketServerType } from "ws";
import {
  Knobs,
  closeServer,
  createEmulatorServer,
  handleControl,
  jittered,
  listen,
  readBody,
  sendJson,
  sleep,
  type EmulatorHandle,
} from "../shared/emulator";
import { Call, DEFAULT_KNOBS, maskNumber, priceString, rfc2822, type Callee, type CallContext, type PhoneEvent, type PhoneLink, type TwilioKnobs } from "./call";
import { DEFAULT_SCENARIO, parseScenario, type Scenario } from "./scenario";
import { Ticker } from "./ticker";
import { SmsInboxes, VerifyError, VerifyService, type SmsMessage } from "./verify";

const ws = createRequire(import.meta.url)("ws") as { WebSocketServer: typeof WebSocketServerType; OPEN: number };

export interface TwilioEmulatorOptions {
  /** 0 (default) = any free port. */
  port?: number;
  accountSid: string;
  authToken: string;
  /** The Verify service the app uses; any `VA…` sid is accepted when omitted. */
  verifyServiceSid?: string;
  /** Logs go here (one line each); default: silent. */
  log?: (line: string) => void;
}

export interface TwilioEmulatorHandle extends EmulatorHandle {
  /** `…/phone` — the keyless sandbox phone page (add `?number=+1555…`). */
  phoneUrl: string;
  /** Base URL for twilio-node's Verify domain (same server). */
  verifyUrl: string;
  knobs: Knobs<TwilioKnobs>;
  /** Registers what the person at `e164` does when called. */
  setPhone(e164: string, callee: { scenario: Scenario } | { mode: "interactive" }): void;
  /** Calls made so far, oldest first. */
  calls(): Call[];
  /** Waits until the call reaches a terminal status and its callbacks have been delivered. */
  waitForCall(callSid: string, timeoutMs?: number): Promise<Call>;
  inbox(e164: string): SmsMessage[];
}

export const DEMO_NUMBER = "+15555550100";
const E164 = /^\+[1-9]\d{6,14}$/;

type Registration = { kind: "scenario"; scenario: Scenario } | { kind: "interactive" };

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function twilioError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

function dateOnly(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Integer micro-dollars → positive decimal string with 5 places (usage records). */
function decimalString(micros: number): string {
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0").slice(0, 5)}`;
}

let phoneBundle: Promise<string> | null = null;
/** Bundles sandbox/twilio/phone/main.ts (and the codec it imports) once per process. */
function buildPhoneBundle(): Promise<string> {
  phoneBundle ??= (async () => {
    const esbuild = await import("esbuild");
    const entry = fileURLToPath(new URL("./phone/main.ts", import.meta.url));
    const out = await esbuild.build({ entryPoints: [entry], bundle: true, write: false, format: "esm", target: "es2022", minify: false, logLevel: "silent" });
    return out.outputFiles[0]?.text ?? "";
  })();
  return phoneBundle;
}

async function readPhoneHtml(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(fileURLToPath(new URL("./phone/index.html", import.meta.url)), "utf8");
}

export async function startTwilioEmulator(opts: TwilioEmulatorOptions): Promise<TwilioEmulatorHandle> {
  const { accountSid, authToken } = opts;
  const log = opts.log ?? (() => undefined);
  const knobs = new Knobs<TwilioKnobs>(DEFAULT_KNOBS);
  const ticker = new Ticker();
  const calls = new Map<string, Call>();
  const runs = new Map<string, Promise<void>>();
  const registrations = new Map<string, Registration>();
  const pages = new Map<string, Set<WebSocketType>>();
  const ctx: CallContext = { accountSid, authToken, knobs: () => knobs.value, ticker, log };
  const bundle = buildPhoneBundle();
  bundle.catch((err: unknown) => log(`phone page bundle failed: ${err instanceof Error ? err.message : String(err)}`));

  const toPages = (number: string, event: object): void => {
    const set = pages.get(number);
    if (!set) return;
    const text = JSON.stringify(event);
    for (const p of set) if (p.readyState === ws.OPEN) p.send(text);
  };
  const inboxes = new SmsInboxes((m) => toPages(m.to, { type: "sms", message: m }));
  const verify = new VerifyService(accountSid, inboxes);

  const phoneLink = (number: string): PhoneLink => ({ send: (e: PhoneEvent) => toPages(number, e) });

  const calleeFor = (to: string): Callee => {
    const reg = registrations.get(to);
    if (reg?.kind === "scenario") return { kind: "scenario", scenario: reg.scenario };
    if (reg?.kind === "interactive" || (pages.get(to)?.size ?? 0) > 0) return { kind: "interactive", phone: phoneLink(to) };
    return { kind: "scenario", scenario: DEFAULT_SCENARIO };
  };

  // ------------------------------------------------------------ REST helpers

  const authenticate = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization ?? "";
    if (!h.startsWith("Basic ")) return false;
    const [user, ...rest] = Buffer.from(h.slice(6), "base64").toString("utf8").split(":");
    return user === accountSid && rest.join(":") === authToken;
  };

  const faults = async (): Promise<boolean> => {
    const k = knobs.value;
    if (k.restLatencyMs > 0 || k.restJitterMs > 0) await sleep(jittered(k.restLatencyMs, k.restJitterMs));
    if (k.failNextRest > 0) {
      knobs.set({ failNextRest: k.failNextRest - 1 });
      return true;
    }
    return k.rest5xxRate > 0 && Math.random() < k.rest5xxRate;
  };

  const callJson = (c: Call): object => {
    const uri = `/2010-04-01/Accounts/${accountSid}/Calls/${c.sid}.json`;
    return {
      sid: c.sid,
      date_created: rfc2822(c.dateCreated),
      date_updated: rfc2822(c.dateUpdated),
      parent_call_sid: null,
      account_sid: accountSid,
      to: c.params.to,
      to_formatted: c.params.to,
      from: c.params.from,
      from_formatted: c.params.from,
      phone_number_sid: null,
      status: c.status,
      start_time: c.startTime ? rfc2822(c.startTime) : null,
      end_time: c.endTime ? rfc2822(c.endTime) : null,
      duration: c.durationS === null ? null : String(c.durationS),
      price: c.isTerminal && c.priceMicros > 0 ? priceString(c.priceMicros) : null,
      price_unit: "USD",
      direction: "outbound-api",
      answered_by: c.answeredBy,
      api_version: "2010-04-01",
      forwarded_from: null,
      group_sid: null,
      caller_name: null,
      queue_time: "0",
      trunk_sid: null,
      uri,
      subresource_uris: {
        notifications: uri.replace(".json", "/Notifications.json"),
        recordings: uri.replace(".json", "/Recordings.json"),
        payments: uri.replace(".json", "/Payments.json"),
        events: uri.replace(".json", "/Events.json"),
        siprec: uri.replace(".json", "/Siprec.json"),
        streams: uri.replace(".json", "/Streams.json"),
        transcriptions: uri.replace(".json", "/Transcriptions.json"),
        user_defined_message_subscriptions: uri.replace(".json", "/UserDefinedMessageSubscriptions.json"),
        user_defined_messages: uri.replace(".json", "/UserDefinedMessages.json"),
      },
    };
  };

  const num = (form: URLSearchParams, key: string, def: number, code: number): number => {
    const raw = form.get(key);
    if (raw === null || raw === "") return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new RestError(400, code, `Invalid ${key}: ${raw}`);
    return n;
  };

  const createCall = (form: URLSearchParams): Call => {
    const to = form.get("To") ?? "";
    const from = form.get("From") ?? "";
    if (!to) throw new RestError(400, 21201, "No 'To' number is specified");
    if (!E164.test(to)) throw new RestError(400, 21211, `Invalid 'To' Phone Number: ${maskNumber(to)}`);
    if (!from) throw new RestError(400, 21603, "A 'From' phone number is required.");
    const url = form.get("Url") ?? undefined;
    const twiml = form.get("Twiml") ?? undefined;
    if (!url && twiml === undefined) throw new RestError(400, 21205, "Url parameter is required.");
    const md = form.get("MachineDetection");
    if (md !== null && md !== "Enable" && md !== "DetectMessageEnd") throw new RestError(400, 21215, "MachineDetection must be Enable or DetectMessageEnd");
    const events = form.getAll("StatusCallbackEvent").flatMap((e) => e.split(/[\s,]+/)).filter(Boolean);
    const statusCallback = form.get("StatusCallback") ?? undefined;
    const asyncAmdStatusCallback = form.get("AsyncAmdStatusCallback") ?? undefined;
    const call = new Call(
      ctx,
      {
        to,
        from,
        ...(url ? { url } : {}),
        method: (form.get("Method") ?? "POST").toUpperCase(),
        ...(twiml !== undefined ? { twiml } : {}),
        ...(statusCallback ? { statusCallback } : {}),
        statusCallbackMethod: (form.get("StatusCallbackMethod") ?? "POST").toUpperCase(),
        statusCallbackEvents: events,
        timeoutS: num(form, "Timeout", 60, 21216),
        timeLimitS: num(form, "TimeLimit", 14_400, 21217),
        ...(md ? { machineDetection: md } : {}),
        asyncAmd: form.get("AsyncAmd") === "true",
        ...(asyncAmdStatusCallback ? { asyncAmdStatusCallback } : {}),
        asyncAmdStatusCallbackMethod: (form.get("AsyncAmdStatusCallbackMethod") ?? "POST").toUpperCase(),
        speechThresholdMs: num(form, "MachineDetectionSpeechThreshold", 2400, 21218),
        speechEndThresholdMs: num(form, "MachineDetectionSpeechEndThreshold", 1200, 21218),
      },
      calleeFor(to),
    );
    calls.set(call.sid, call);
    runs.set(call.sid, call.run().then(() => call.callbacksSettled()));
    log(`call ${call.sid} to ${maskNumber(to)} created`);
    return call;
  };

  const usageRecords = (q: URLSearchParams, daily: boolean, uriPath: string): object => {
    const category = q.get("Category");
    const all = [...calls.values()];
    const today = dateOnly(new Date());
    const earliest = all.length > 0 ? dateOnly(all[0]!.dateCreated) : today;
    const start = q.get("StartDate") ?? (daily ? earliest : earliest);
    const end = q.get("EndDate") ?? today;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || !/^\d{4}-\d{2}-\d{2}$/.test(end)) throw new RestError(400, 20001, "StartDate and EndDate must be YYYY-MM-DD");
    const categories = category ? [category] : ["calls", "calls-outbound"];
    const ranges: [string, string][] = [];
    if (daily) {
      for (let d = new Date(`${start}T00:00:00Z`); dateOnly(d) <= end; d = new Date(d.getTime() + 86_400_000)) ranges.push([dateOnly(d), dateOnly(d)]);
    } else ranges.push([start, end]);
    const records: object[] = [];
    for (const cat of categories) {
      if (cat !== "calls" && cat !== "calls-outbound") continue;
      for (const [s, e] of ranges) {
        const inRange = all.filter((c) => c.isTerminal && c.billedMinutes > 0 && dateOnly(c.dateCreated) >= s && dateOnly(c.dateCreated) <= e);
        const minutes = inRange.reduce((a, c) => a + c.billedMinutes, 0);
        const micros = inRange.reduce((a, c) => a + c.priceMicros, 0);
        const base = `/2010-04-01/Accounts/${accountSid}/Usage/Records`;
        records.push({
          account_sid: accountSid,
          api_version: "2010-04-01",
          as_of: new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00"),
          category: cat,
          count: String(inRange.length),
          count_unit: "calls",
          description: cat === "calls" ? "Voice Minutes" : "Outbound Voice Minutes",
          start_date: s,
          end_date: e,
          price: decimalString(micros),
          price_unit: "usd",
          subresource_uris: {
            all_time: `${base}/AllTime.json?Category=${cat}`,
            daily: `${base}/Daily.json?Category=${cat}`,
            monthly: `${base}/Monthly.json?Category=${cat}`,
            today: `${base}/Today.json?Category=${cat}`,
          },
          uri: `${base}${daily ? "/Daily" : ""}.json?Category=${cat}&StartDate=${s}&EndDate=${e}`,
          usage: String(minutes),
          usage_unit: "minutes",
        });
      }
    }
    return {
      first_page_uri: uriPath,
      end: Math.max(0, records.length - 1),
      previous_page_uri: null,
      next_page_uri: null,
      uri: uriPath,
      page_size: Math.max(50, records.length),
      start: 0,
      page: 0,
      usage_records: records,
    };
  };

  const restRoute = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const path = url.pathname;
    const isApi = path.startsWith("/2010-04-01/");
    const isVerify = path.startsWith("/v2/Services/");
    if (!isApi && !isVerify) return false;
    if (!authenticate(req)) {
      twilioError(res, 401, 20003, "Authenticate");
      return true;
    }
    if (await faults()) {
      twilioError(res, 500, 20500, "Internal Server Error");
      return true;
    }
    const form = req.method === "POST" ? new URLSearchParams((await readBody(req)).toString("utf8")) : url.searchParams;
    try {
      if (isVerify) {
        const m = /^\/v2\/Services\/([^/]+)\/(Verifications|VerificationCheck)$/.exec(path);
        const serviceSid = m?.[1] ?? "";
        if (!m || req.method !== "POST" || (opts.verifyServiceSid ? serviceSid !== opts.verifyServiceSid : !serviceSid.startsWith("VA"))) {
          throw new RestError(404, 20404, `The requested resource ${path.replace(/^\/v2/, "")} was not found`);
        }
        if (m[2] === "Verifications") sendJson(res, 201, verify.create(serviceSid, form.get("To") ?? "", form.get("Channel") ?? ""));
        else sendJson(res, 200, verify.check(serviceSid, form.get("To") ?? undefined, form.get("VerificationSid") ?? undefined, form.get("Code") ?? ""));
        return true;
      }
      const m = /^\/2010-04-01\/Accounts\/([^/]+)(\/.*)$/.exec(path);
      if (!m || m[1] !== accountSid) throw new RestError(404, 20404, `The requested resource ${path} was not found`);
      const rest = m[2] ?? "";
      const route = `${req.method} ${rest}`;
      if (route === "POST /Calls.json") {
        sendJson(res, 201, callJson(createCall(form)));
        return true;
      }
      if (route === "GET /Calls.json") {
        const status = form.get("Status");
        const list = [...calls.values()].reverse().filter((c) => (!status || c.status === status) && (!form.get("To") || c.params.to === form.get("To")));
        const uri = `/2010-04-01/Accounts/${accountSid}/Calls.json`;
        sendJson(res, 200, { calls: list.map(callJson), first_page_uri: uri, next_page_uri: null, previous_page_uri: null, uri, page: 0, page_size: 50, start: 0, end: Math.max(0, list.length - 1) });
        return true;
      }
      const cm = /^\/Calls\/([^/]+)\.json$/.exec(rest);
      if (cm) {
        const call = calls.get(cm[1] ?? "");
        if (!call) throw new RestError(404, 20404, `The requested resource ${path} was not found`);
        if (req.method === "GET") sendJson(res, 200, callJson(call));
        else if (req.method === "POST") {
          const status = form.get("Status");
          if (status && status !== "completed" && status !== "canceled") throw new RestError(400, 21218, `Invalid Status: ${status}`);
          const twiml = form.get("Twiml") ?? undefined;
          const redirectUrl = form.get("Url") ?? undefined;
          if ((status === "completed" || status === "canceled") && !call.isTerminal) await call.hangup(status, `REST update Status=${status}`);
          else if (!status && (twiml !== undefined || redirectUrl)) {
            let ok: boolean;
            try {
              ok = call.redirect({ ...(twiml !== undefined ? { twiml } : {}), ...(redirectUrl ? { url: redirectUrl } : {}), method: (form.get("Method") ?? "POST").toUpperCase() });
            } catch (err) {
              throw new RestError(400, 12100, `Document parse failure: ${err instanceof Error ? err.message : String(err)}`);
            }
            if (!ok) throw new RestError(400, 21220, "Call is not in-progress. Cannot redirect.");
          }
          sendJson(res, 200, callJson(call));
        } else throw new RestError(405, 20004, "Method not allowed");
        return true;
      }
      if (route === "GET /Usage/Records.json" || route === "GET /Usage/Records/Daily.json") {
        sendJson(res, 200, usageRecords(form, rest.includes("Daily"), `${path}${url.search}`));
        return true;
      }
      if (route === "POST /Messages.json") {
        const to = form.get("To") ?? "";
        if (!E164.test(to)) throw new RestError(400, 21211, "Invalid 'To' Phone Number");
        const body = form.get("Body") ?? "";
        if (!body) throw new RestError(400, 21602, "Message body is required.");
        const msg = inboxes.deliver(form.get("From") ?? "", to, body);
        const now = rfc2822(new Date());
        sendJson(res, 201, {
          sid: msg.sid, account_sid: accountSid, to, from: msg.from, body, status: "queued", direction: "outbound-api", num_segments: "1", num_media: "0",
          price: null, price_unit: "USD", api_version: "2010-04-01", date_created: now, date_updated: now, date_sent: null, error_code: null, error_message: null,
          messaging_service_sid: form.get("MessagingServiceSid"), uri: `/2010-04-01/Accounts/${accountSid}/Messages/${msg.sid}.json`, subresource_uris: {},
        });
        return true;
      }
      throw new RestError(404, 20404, `The requested resource ${path} was not found`);
    } catch (err) {
      if (err instanceof RestError || err instanceof VerifyError) twilioError(res, err.status, err.code, err.message);
      else throw err;
      return true;
    }
  };

  // ------------------------------------------------------------ sandbox routes

  const bill = (q: URLSearchParams): object => {
    const only = q.get("callSid");
    const list = [...calls.values()].filter((c) => c.isTerminal && (!only || c.sid === only));
    return {
      unit: "minutes",
      calls: list.map((c) => ({ callSid: c.sid, to: maskNumber(c.params.to), status: c.status, durationS: c.durationS ?? 0, billedMinutes: c.billedMinutes, priceMicros: c.priceMicros })),
      totalCalls: list.length,
      totalDurationS: list.reduce((a, c) => a + (c.durationS ?? 0), 0),
      totalMinutes: list.reduce((a, c) => a + c.billedMinutes, 0),
      totalPriceMicros: list.reduce((a, c) => a + c.priceMicros, 0),
    };
  };

  const reset = (): void => {
    for (const c of calls.values()) void c.hangup("completed", "sandbox reset");
    calls.clear();
    runs.clear();
    registrations.clear();
    inboxes.clear();
    verify.clear();
  };

  const sandboxRoute = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const path = url.pathname;
    if (req.method === "GET" && path === "/__sandbox/calls") {
      sendJson(res, 200, { calls: [...calls.values()].map((c) => ({ callSid: c.sid, to: c.params.to, status: c.status, durationS: c.durationS, callee: c.isInteractive ? "interactive" : "scenario" })) });
      return true;
    }
    const cm = /^\/__sandbox\/calls\/([^/]+)$/.exec(path);
    if (req.method === "GET" && cm) {
      const call = calls.get(cm[1] ?? "");
      if (call) sendJson(res, 200, call.record());
      else sendJson(res, 404, { error: "no such call" });
      return true;
    }
    const mm = /^\/__sandbox\/phones\/([^/]+)\/messages$/.exec(path);
    if (req.method === "GET" && mm) {
      sendJson(res, 200, { messages: inboxes.list(decodeURIComponent(mm[1] ?? "")) });
      return true;
    }
    const pm = /^\/__sandbox\/phones\/([^/]+)$/.exec(path);
    if (pm) {
      const number = decodeURIComponent(pm[1] ?? "");
      if (!E164.test(number)) {
        sendJson(res, 400, { error: "phone number must be E.164, e.g. +15555550100" });
        return true;
      }
      if (req.method === "DELETE") {
        registrations.delete(number);
        sendJson(res, 200, { ok: true });
        return true;
      }
      if (req.method === "GET") {
        const reg = registrations.get(number);
        sendJson(res, 200, { number, registration: reg ?? null, pageConnected: (pages.get(number)?.size ?? 0) > 0 });
        return true;
      }
      if (req.method === "POST") {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(req)).toString("utf8") || "{}");
        } catch {
          sendJson(res, 400, { error: "body must be JSON" });
          return true;
        }
        const b = (typeof body === "object" && body !== null ? body : {}) as { scenario?: unknown; mode?: unknown };
        try {
          if (b.mode === "interactive") handle.setPhone(number, { mode: "interactive" });
          else handle.setPhone(number, { scenario: parseScenario(b.scenario ?? body) });
        } catch (err) {
          sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
          return true;
        }
        sendJson(res, 200, { number, registration: registrations.get(number) });
        return true;
      }
    }
    return false;
  };

  const server = createEmulatorServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    if (await restRoute(req, res, url)) return;
    if (await sandboxRoute(req, res, url)) return;
    if (await handleControl(req, res, { knobs: knobs as unknown as Knobs<object>, bill, reset })) return;
    if (req.method === "GET" && (url.pathname === "/phone" || url.pathname === "/phone/")) {
      const html = await readPhoneHtml();
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(html);
      return;
    }
    if (req.method === "GET" && url.pathname === "/phone/app.js") {
      const js = await bundle;
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      res.end(js);
      return;
    }
    twilioError(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
  }, "twilio");

  // ------------------------------------------------------------ phone page socket

  const wss = new ws.WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const number = url.searchParams.get("number") ?? DEMO_NUMBER;
    if (url.pathname !== "/__sandbox/phone-ws" || !E164.test(number)) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (client) => {
      const set = pages.get(number) ?? new Set<WebSocketType>();
      set.add(client);
      pages.set(number, set);
      client.send(JSON.stringify({ type: "hello", number, messages: inboxes.list(number) }));
      const ringing = [...calls.values()].find((c) => c.params.to === number && c.status === "ringing" && c.isInteractive);
      if (ringing) client.send(JSON.stringify({ type: "incoming", callSid: ringing.sid, from: ringing.params.from, to: number }));
      client.on("message", (data) => {
        let msg: unknown;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return;
        }
        if (typeof msg !== "object" || msg === null) return;
        const m = msg as { type?: unknown; callSid?: unknown; text?: unknown; digits?: unknown };
        const call = typeof m.callSid === "string" ? calls.get(m.callSid) : undefined;
        if (!call || call.params.to !== number) return;
        if (m.type === "answer") call.pageAnswer(true);
        else if (m.type === "decline") call.pageAnswer(false);
        else if (m.type === "say" && typeof m.text === "string" && m.text.trim()) call.say(m.text.trim());
        else if (m.type === "dtmf" && typeof m.digits === "string") call.press(m.digits);
        else if (m.type === "hangup") void call.hangup(call.status === "in-progress" ? "completed" : "canceled", "hung up on the phone page");
      });
      client.on("close", () => {
        set.delete(client);
        if (set.size === 0) pages.delete(number);
      });
    });
  });

  const port = await listen(server, opts.port ?? 0);
  const base = `http://127.0.0.1:${port}`;

  const handle: TwilioEmulatorHandle = {
    url: base,
    port,
    phoneUrl: `${base}/phone`,
    verifyUrl: base,
    knobs,
    setPhone(e164, callee) {
      if (!E164.test(e164)) throw new Error("phone number must be E.164");
      registrations.set(e164, "mode" in callee ? { kind: "interactive" } : { kind: "scenario", scenario: parseScenario(callee.scenario) });
    },
    calls: () => [...calls.values()],
    async waitForCall(callSid, timeoutMs = 30_000) {
      const run = runs.get(callSid);
      const call = calls.get(callSid);
      if (!run || !call) throw new Error(`no call ${callSid}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        run,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`call ${callSid} still ${call.status} after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return call;
    },
    inbox: (e164) => inboxes.list(e164),
    async close() {
      for (const c of calls.values()) void c.hangup("completed", "emulator closing");
      await Promise.race([Promise.allSettled(runs.values()), sleep(2000)]);
      ticker.stop();
      for (const set of pages.values()) for (const p of set) p.terminate();
      wss.close();
      await closeServer(server);
    },
  };
  log(`twilio emulator on ${base} (phone page ${base}/phone)`);
  return handle;
}
