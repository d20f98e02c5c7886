/**
 * How the benchmark's pipeline switch reaches the Durable Object: the optional
 * PIPELINE_CONFIG_JSON binding is validated into `config.pipeline` (spread over the pipeline
 * defaults by the CallSession); an absent binding means the defaults, a malformed one fails
 * loudly at start rather than silently benchmarking the wrong configuration.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "./env";

const base = {
  PUBLIC_BASE_URL: "http://127.0.0.1:8787",
  DATABASE_URL: "postgres://u:p@localhost/db",
  JWT_SECRET: "0123456789abcdef0123",
  CEREBRAS_BASE_URL: "http://127.0.0.1:1",
  OPENAI_BASE_URL: "http://127.0.0.1:2",
  DEEPGRAM_BASE_URL: "ws://127.0.0.1:3",
  ELEVENLABS_BASE_URL: "ws://127.0.0.1:4",
  TWILIO_BASE_URL: "http://127.0.0.1:5",
  TWILIO_VERIFY_BASE_URL: "http://127.0.0.1:5",
  STRIPE_BASE_URL: "http://127.0.0.1:6",
  WORKOS_BASE_URL: "http://127.0.0.1:7",
};

const parse = (extra: Record<string, string>) => parseEnv({ ...base, ...extra });

describe("PIPELINE_CONFIG_JSON", () => {
  it("is empty overrides when absent", () => {
    expect(parse({}).pipeline).toEqual({});
  });

  it("turns speculation off for the benchmark", () => {
    expect(parse({ PIPELINE_CONFIG_JSON: '{"speculation":false,"leadMs":200}' }).pipeline).toEqual({ speculation: false, leadMs: 200 });
  });

  it("rejects invalid JSON, unknown keys and wrong types without echoing values", () => {
    expect(() => parse({ PIPELINE_CONFIG_JSON: "{speculation" })).toThrow(ConfigError);
    expect(() => parse({ PIPELINE_CONFIG_JSON: '{"speculashun":false}' })).toThrow(/PIPELINE_CONFIG_JSON/);
    expect(() => parse({ PIPELINE_CONFIG_JSON: '{"leadMs":"200"}' })).toThrow(/leadMs/);
  });
});
