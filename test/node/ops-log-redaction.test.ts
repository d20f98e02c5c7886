/**
 * The structured logger as operators see it: a request line whose path carries a signed token, a
 * phone number or an email, and fields named like secrets, never print them — the JSON stays one
 * parseable line with the context (requestId / callId / userId) kept.
 */
import { describe, expect, it } from "vitest";
import { createLogger, setLogSink } from "../../worker/log";

function capture(fn: () => void): string[] {
  const lines: string[] = [];
  const restore = setLogSink((_level, line) => lines.push(line));
  try {
    fn();
  } finally {
    restore();
  }
  return lines;
}

describe("log redaction", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYWxsIiwicHVycG9zZSI6InR3aWxpbyJ9.4yXKqxhxDOwotqIFVhrGjGdboDLs81J87HzAKYqANCE";

  it("masks a token in a request path, phone numbers and emails, drops secret fields, keeps context", () => {
    const [line] = capture(() =>
      createLogger({ requestId: "req-1", callId: "c-1" }).info("request", {
        path: `/twilio/stream/c-1/${jwt}`,
        note: "dialled +15555550142 for ada@example.com",
        to: "+15555550142",
        authToken: "sandbox-twilio-auth-token",
        password: "p@ss w0rd",
        userId: "u-1",
      }),
    );
    expect(line).toBeDefined();
    const parsed = JSON.parse(line!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ requestId: "req-1", callId: "c-1", userId: "u-1", path: "/twilio/stream/c-1/[jwt]", to: "***0142" });
    expect(parsed.note).toBe("dialled ***0142 for a***@example.com");
    expect(line).not.toContain("eyJ");
    expect(line).not.toContain("5555550142");
    expect(line).not.toContain("sandbox-twilio-auth-token");
    expect(line).not.toContain("p@ss");
  });

  it("leaves ids, timestamps and counts alone", () => {
    const [line] = capture(() => createLogger().info("cost", { callId: "50dacacc-8655-4c90-9b09-92de080d95d5", inputTokenCount: 812, at: "2026-11-22T03:55:12.273Z" }));
    expect(JSON.parse(line!)).toMatchObject({ callId: "50dacacc-8655-4c90-9b09-92de080d95d5", at: "2026-11-22T03:55:12.273Z" });
  });
});
