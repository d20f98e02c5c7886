/** Log redaction: secrets dropped, phones and emails masked, ids and timestamps untouched. */
import { describe, expect, it } from "vitest";
import { createLogger, maskPhone, redact, setLogSink } from "./log";

describe("log redaction", () => {
  it("drops secret-named keys at any depth and masks phones and emails", () => {
    const out = redact({
      password: "hunter2",
      Authorization: "Bearer abc",
      nested: { apiKey: "k", api_key: "k2", jwtToken: "t", clientSecret: "s", ok: 1 },
      phone: "+15555550100",
      to: "+447700900123",
      note: "call +15555550100 or write alice@example.com",
      userId: "3f2a1234-5678-4123-8123-123456789012",
      at: "2026-11-22T03:20:54.011Z",
    }) as Record<string, unknown>;
    expect(out.password).toBeUndefined();
    expect(out.Authorization).toBeUndefined();
    expect(out.nested).toEqual({ ok: 1 });
    expect(out.phone).toBe("***0100");
    expect(out.to).toBe("***0123");
    expect(out.note).toBe("call ***0100 or write a***@example.com");
    expect(out.userId).toBe("3f2a1234-5678-4123-8123-123456789012");
    expect(out.at).toBe("2026-11-22T03:20:54.011Z");
    expect(maskPhone("12")).toBe("****");
  });

  it("writes one JSON line with context and without secrets", () => {
    const lines: string[] = [];
    const restore = setLogSink((_level, line) => lines.push(line));
    try {
      createLogger({ requestId: "r1" }).child({ userId: "u1" }).error("boom", { token: "secret", err: new Error("failed for +15555550100") });
    } finally {
      restore();
    }
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: "error", msg: "boom", requestId: "r1", userId: "u1" });
    expect(entry.token).toBeUndefined();
    expect(JSON.stringify(entry)).not.toContain("5555550100");
  });
});
