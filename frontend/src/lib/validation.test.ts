/** Form rules agree with the API contract: the limits in hints are the schema's limits, phones and passwords follow its policy. */
import { describe, expect, it } from "vitest";
import { CreatePersonaRequest, E164, Password, RegisterRequest } from "../../../contracts";
import { LIMITS, e164, normalizePhone, parseTraits, password } from "./validation";

const ok = (schema: { safeParse: (v: unknown) => { success: boolean } }, v: unknown) => schema.safeParse(v).success;

describe("validation rules", () => {
  it("persona limits equal the contract's", () => {
    const s = CreatePersonaRequest.shape;
    expect(ok(s.name, "x".repeat(LIMITS.personaNameMax))).toBe(true);
    expect(ok(s.name, "x".repeat(LIMITS.personaNameMax + 1))).toBe(false);
    expect(ok(s.tagline, "x".repeat(LIMITS.taglineMax))).toBe(true);
    expect(ok(s.tagline, "x".repeat(LIMITS.taglineMax + 1))).toBe(false);
    expect(ok(s.systemPrompt, "x".repeat(LIMITS.systemPromptMax + 1))).toBe(false);
    expect(ok(s.traits, Array.from({ length: LIMITS.traitsMax }, () => "t"))).toBe(true);
    expect(ok(s.traits, Array.from({ length: LIMITS.traitsMax + 1 }, () => "t"))).toBe(false);
    expect(ok(s.traits, ["x".repeat(LIMITS.traitMax + 1)])).toBe(false);
    expect(ok(s.greeting, "x".repeat(LIMITS.greetingMax + 1))).toBe(false);
    expect(ok(RegisterRequest.shape.name, "x".repeat(LIMITS.nameMax + 1))).toBe(false);
  });

  it("accepts formatted phone numbers that normalise to E.164 and explains bad ones", () => {
    const rule = e164<object>();
    expect(rule("+1 (415) 555-0100", {})).toBeNull();
    expect(ok(E164, normalizePhone("+1 (415) 555-0100"))).toBe(true);
    expect(rule("415 555 0100", {})).toMatch(/country code/);
    expect(rule("+0123", {})).toMatch(/full international number/);
    expect(rule("", {})).toBeNull();
  });

  it("password rule matches the API policy, special characters included", () => {
    const rule = password<object>();
    const special = "p@ss w0rd!#$%^&*()\"'\\";
    expect(rule(special, {})).toBeNull();
    expect(ok(Password, special)).toBe(true);
    expect(rule("short", {})).toMatch(/at least 8/);
    expect(rule("é".repeat(LIMITS.passwordMax), {})).toBeNull();
    expect(rule("é".repeat(LIMITS.passwordMax + 1), {})).toMatch(/at most/);
  });

  it("parses comma-separated traits without blanks or duplicates", () => {
    expect(parseTraits(" warm, witty ,, Warm ,curious")).toEqual(["warm", "witty", "curious"]);
  });
});
