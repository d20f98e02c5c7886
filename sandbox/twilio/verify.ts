/**
 * Twilio Verify v2 (SMS channel) and the sandbox phones' SMS inboxes. A verification sends a
 * 6-digit code to the number's inbox; checks approve it, count wrong attempts (5 max, then
 * Twilio's 60202) and expire it after 10 minutes. Pure state; server.ts maps HTTP onto it.
 */
import { newSid, randomCode } from "./call";

export interface SmsMessage {
  sid: string;
  from: string;
  to: string;
  body: string;
  dateCreated: string;
}

interface Verification {
  sid: string;
  serviceSid: string;
  to: string;
  channel: string;
  code: string;
  status: "pending" | "approved" | "canceled" | "expired" | "max_attempts_reached";
  checkAttempts: number;
  sendAttempts: { time: string; channel: string; attempt_sid: string }[];
  dateCreated: Date;
  dateUpdated: Date;
}

export class VerifyError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const TTL_MS = 10 * 60 * 1000;
const MAX_CHECKS = 5;
const MAX_SENDS = 5;

export class SmsInboxes {
  private readonly boxes = new Map<string, SmsMessage[]>();
  constructor(private readonly onMessage: (m: SmsMessage) => void) {}

  deliver(from: string, to: string, body: string): SmsMessage {
    const m: SmsMessage = { sid: newSid("SM"), from, to, body, dateCreated: new Date().toISOString() };
    const box = this.boxes.get(to) ?? [];
    box.unshift(m);
    this.boxes.set(to, box);
    this.onMessage(m);
    return m;
  }

  /** Latest first. */
  list(to: string): SmsMessage[] {
    return this.boxes.get(to) ?? [];
  }

  clear(): void {
    this.boxes.clear();
  }
}

export class VerifyService {
  private readonly byKey = new Map<string, Verification>();

  constructor(
    private readonly accountSid: string,
    private readonly inboxes: SmsInboxes,
    private readonly friendlyName = "Call Me Back",
  ) {}

  private current(serviceSid: string, to: string): Verification | undefined {
    const v = this.byKey.get(`${serviceSid}|${to}`);
    if (v && v.status === "pending" && Date.now() - v.dateCreated.getTime() > TTL_MS) v.status = "expired";
    return v && v.status === "pending" ? v : undefined;
  }

  create(serviceSid: string, to: string, channel: string): object {
    if (!/^\+[1-9]\d{6,14}$/.test(to)) throw new VerifyError(400, 60200, "Invalid parameter `To`: " + to.replace(/\d(?=\d{4})/g, "*"));
    if (channel !== "sms") throw new VerifyError(400, 60200, "Invalid parameter: Channel (the sandbox delivers sms only)");
    let v = this.current(serviceSid, to);
    const now = new Date();
    if (v) {
      if (v.sendAttempts.length >= MAX_SENDS) throw new VerifyError(429, 60203, "Max send attempts reached");
    } else {
      v = {
        sid: newSid("VE"),
        serviceSid,
        to,
        channel,
        code: randomCode(),
        status: "pending",
        checkAttempts: 0,
        sendAttempts: [],
        dateCreated: now,
        dateUpdated: now,
      };
      this.byKey.set(`${serviceSid}|${to}`, v);
    }
    v.sendAttempts.push({ time: now.toISOString(), channel, attempt_sid: newSid("VL") });
    v.dateUpdated = now;
    this.inboxes.deliver("Verify", to, `Your ${this.friendlyName} verification code is: ${v.code}`);
    return this.verificationJson(v);
  }

  check(serviceSid: string, to: string | undefined, verificationSid: string | undefined, code: string): object {
    let v: Verification | undefined;
    if (verificationSid) {
      v = [...this.byKey.values()].find((x) => x.sid === verificationSid && x.serviceSid === serviceSid);
      if (v) v = this.current(serviceSid, v.to);
    } else if (to) v = this.current(serviceSid, to);
    else throw new VerifyError(400, 60200, "Either a 'To' number or 'VerificationSid' must be specified");
    if (!v) throw new VerifyError(404, 20404, `The requested resource /Services/${serviceSid}/VerificationCheck was not found`);
    if (v.checkAttempts >= MAX_CHECKS) {
      v.status = "max_attempts_reached";
      throw new VerifyError(429, 60202, "Max check attempts reached");
    }
    v.checkAttempts++;
    v.dateUpdated = new Date();
    if (code === v.code) v.status = "approved";
    return {
      sid: v.sid,
      service_sid: v.serviceSid,
      account_sid: this.accountSid,
      to: v.to,
      channel: v.channel,
      status: v.status,
      valid: v.status === "approved",
      amount: null,
      payee: null,
      date_created: v.dateCreated.toISOString(),
      date_updated: v.dateUpdated.toISOString(),
      sna_attempts_error_codes: [],
    };
  }

  private verificationJson(v: Verification): object {
    return {
      sid: v.sid,
      service_sid: v.serviceSid,
      account_sid: this.accountSid,
      to: v.to,
      channel: v.channel,
      status: v.status,
      valid: false,
      lookup: { carrier: null },
      amount: null,
      payee: null,
      send_code_attempts: v.sendAttempts,
      date_created: v.dateCreated.toISOString(),
      date_updated: v.dateUpdated.toISOString(),
      sna: null,
      url: `https://verify.twilio.com/v2/Services/${v.serviceSid}/Verifications/${v.sid}`,
    };
  }

  clear(): void {
    this.byKey.clear();
  }
}
