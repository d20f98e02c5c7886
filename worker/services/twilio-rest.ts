/**
 * The few Twilio REST calls the product makes, over `fetch` with Basic auth (the full `twilio`
 * package is 8 MB and stays out of the Worker): create an outbound call with inline TwiML,
 * hang a call up (`Status=completed`), and Verify v2 send/check. Base URLs come from config, so
 * the same code talks to Twilio or to the local emulator. Errors become `TwilioError` carrying
 * Twilio's numeric `code` and the HTTP status — never the credentials.
 */
import type { Config } from "../env";

export type TwilioConfig = Pick<Config, "baseUrls" | "keys">;

export class TwilioError extends Error {
  override readonly name = "TwilioError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: number | null,
  ) {
    super(message);
  }
}

function basicAuth(cfg: TwilioConfig): string {
  return `Basic ${btoa(`${cfg.keys.twilioAccountSid}:${cfg.keys.twilioAuthToken}`)}`;
}

async function post(cfg: TwilioConfig, url: string, form: URLSearchParams): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { Authorization: basicAuth(cfg), "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: form.toString(),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
  } catch {
    // non-JSON body: keep {}
  }
  if (!res.ok) {
    const code = typeof body.code === "number" ? body.code : null;
    const message = typeof body.message === "string" ? body.message : `HTTP ${res.status}`;
    throw new TwilioError(`Twilio: ${message}`, res.status, code);
  }
  return body;
}

export interface CreateCallParams {
  to: string;
  twiml: string;
  statusCallback: string;
  /** Seconds to ring before giving up. */
  timeoutS: number;
  /** Hard cap on the call length (safety net behind the Durable Object's own limit). */
  timeLimitS: number;
  /** Async answering-machine detection result goes here. */
  asyncAmdStatusCallback?: string;
}

/** Places an outbound call; returns its CallSid. */
export async function createCall(cfg: TwilioConfig, p: CreateCallParams): Promise<{ sid: string; status: string }> {
  const form = new URLSearchParams();
  form.set("To", p.to);
  form.set("From", cfg.keys.twilioPhoneNumber);
  form.set("Twiml", p.twiml);
  form.set("StatusCallback", p.statusCallback);
  form.set("StatusCallbackMethod", "POST");
  for (const e of ["initiated", "ringing", "answered", "completed"]) form.append("StatusCallbackEvent", e);
  form.set("Timeout", String(p.timeoutS));
  form.set("TimeLimit", String(p.timeLimitS));
  if (p.asyncAmdStatusCallback) {
    form.set("MachineDetection", "Enable");
    form.set("AsyncAmd", "true");
    form.set("AsyncAmdStatusCallback", p.asyncAmdStatusCallback);
    form.set("AsyncAmdStatusCallbackMethod", "POST");
  }
  const body = await post(cfg, `${cfg.baseUrls.twilio}/2010-04-01/Accounts/${cfg.keys.twilioAccountSid}/Calls.json`, form);
  if (typeof body.sid !== "string") throw new TwilioError("Twilio: no call sid in response", 502, null);
  return { sid: body.sid, status: typeof body.status === "string" ? body.status : "queued" };
}

/** Ends a call: hangs up an answered call, cancels a ringing/queued one. */
export async function hangupCall(cfg: TwilioConfig, callSid: string): Promise<void> {
  const form = new URLSearchParams({ Status: "completed" });
  await post(cfg, `${cfg.baseUrls.twilio}/2010-04-01/Accounts/${cfg.keys.twilioAccountSid}/Calls/${encodeURIComponent(callSid)}.json`, form);
}

/** Verify v2: sends a one-time code by SMS. */
export async function startVerification(cfg: TwilioConfig, to: string): Promise<{ sid: string; status: string }> {
  const form = new URLSearchParams({ To: to, Channel: "sms" });
  const body = await post(cfg, `${cfg.baseUrls.twilioVerify}/v2/Services/${cfg.keys.twilioVerifyServiceSid}/Verifications`, form);
  return { sid: String(body.sid ?? ""), status: String(body.status ?? "pending") };
}

/** Verify v2: checks a code; `approved` when it matched. */
export async function checkVerification(cfg: TwilioConfig, to: string, code: string): Promise<{ status: string }> {
  const form = new URLSearchParams({ To: to, Code: code });
  const body = await post(cfg, `${cfg.baseUrls.twilioVerify}/v2/Services/${cfg.keys.twilioVerifyServiceSid}/VerificationCheck`, form);
  return { status: String(body.status ?? "pending") };
}
