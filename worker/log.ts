/**
 * JSON-line logger with request context (`requestId`, `userId`, `callId`) and a redaction layer:
 * phone numbers keep only their last 4 digits, emails keep their first character and domain, JWTs
 * inside text (a token in a URL path) become `[jwt]`, and
 * any key named like password/token/secret/authorization/apiKey/cookie is dropped. Use `log` /
 * `logger.child({...})` instead of `console.*` everywhere in the Worker and Durable Objects.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const SECRET_KEY = /pass(word)?|token|secret|authorization|api[-_]?key|cookie|credential|signature/i;
/** E.164-looking numbers inside free text (ids and timestamps are never touched). */
const PHONE = /\+[1-9]\d{6,14}/g;
/** Keys whose whole string value is a phone number. */
const PHONE_KEY = /phone|^to$|^from$|caller|called/i;
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;
/** JWTs (e.g. a signed token inside a request path) anywhere in free text. */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/g;

/** `+15555550100` → `***0100`. */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, "");
  return digits.length <= 4 ? "****" : `***${digits.slice(-4)}`;
}

/** `alice@example.com` → `a***@example.com`. */
export function maskEmail(value: string): string {
  return value.replace(EMAIL, (_m, first: string, domain: string) => `${first}***@${domain}`);
}

/** Mask phone numbers, emails and JWTs inside free text. */
export function redactText(text: string): string {
  return maskEmail(text).replace(JWT, "[jwt]").replace(PHONE, maskPhone);
}

/** Deep copy of `value` with secrets dropped and personal data masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[depth]";
  if (typeof value === "string") return redactText(value);
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message), stack: value.stack ? redactText(value.stack) : undefined };
  }
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k)) continue;
    out[k] = PHONE_KEY.test(k) && typeof v === "string" ? maskPhone(v) : redact(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(context: LogFields): Logger;
}

/** Where lines go; replaceable in tests. */
export type LogSink = (level: LogLevel, line: string) => void;

const consoleSink: LogSink = (level, line) => {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
};

let sink: LogSink = consoleSink;

/** Redirect log lines (tests); returns a function restoring the previous sink. */
export function setLogSink(next: LogSink): () => void {
  const prev = sink;
  sink = next;
  return () => {
    sink = prev;
  };
}

export function createLogger(context: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    const entry = redact({ ts: new Date().toISOString(), level, msg, ...context, ...fields });
    sink(level, JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (extra) => createLogger({ ...context, ...extra }),
  };
}

/** Root logger (no request context). */
export const log = createLogger();
