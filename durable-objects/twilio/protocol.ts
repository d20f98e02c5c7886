/**
 * Twilio Media Streams wire protocol (bidirectional `<Connect><Stream>`).
 *
 * Inbound messages are parsed ONCE at the edge (`parseTwilioMessage`) into the `TwilioInbound`
 * discriminated union; everything behind it works with plain typed objects. `media` (50 per second
 * per call) is checked by hand against the same shape as `MediaMessage`; every other (rare) event
 * goes through zod.
 * Outbound messages (`media`, `mark`, `clear`) are built by typed functions. `mediaMessage`
 * builds its JSON by hand because it runs 50×/s per call and its fields need no escaping
 * (a stream SID and base64); the rest use `JSON.stringify`.
 */
import { z } from "zod";

const seq = z.string().optional();

export const ConnectedMessage = z.object({
  event: z.literal("connected"),
  protocol: z.string().optional(),
  version: z.string().optional(),
});

export const StartMessage = z.object({
  event: z.literal("start"),
  sequenceNumber: seq,
  streamSid: z.string(),
  start: z.object({
    streamSid: z.string().optional(),
    accountSid: z.string(),
    callSid: z.string(),
    tracks: z.array(z.string()).default(["inbound"]),
    customParameters: z.record(z.string(), z.string()).default({}),
    mediaFormat: z
      .object({ encoding: z.string(), sampleRate: z.number(), channels: z.number() })
      .default({ encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 }),
  }),
});

export const MediaMessage = z.object({
  event: z.literal("media"),
  sequenceNumber: seq,
  streamSid: z.string(),
  media: z.object({
    track: z.string().optional(),
    chunk: z.string().optional(),
    timestamp: z.string().optional(),
    payload: z.string(),
  }),
});

export const MarkMessage = z.object({
  event: z.literal("mark"),
  sequenceNumber: seq,
  streamSid: z.string(),
  mark: z.object({ name: z.string() }),
});

export const DtmfMessage = z.object({
  event: z.literal("dtmf"),
  sequenceNumber: seq,
  streamSid: z.string(),
  dtmf: z.object({ track: z.string().optional(), digit: z.string() }),
});

export const StopMessage = z.object({
  event: z.literal("stop"),
  sequenceNumber: seq,
  streamSid: z.string(),
  stop: z.object({ accountSid: z.string().optional(), callSid: z.string().optional() }).optional(),
});

/** Every message Twilio sends on a Media Stream. */
export const TwilioInbound = z.discriminatedUnion("event", [
  ConnectedMessage,
  StartMessage,
  MediaMessage,
  MarkMessage,
  DtmfMessage,
  StopMessage,
]);
export type TwilioInbound = z.infer<typeof TwilioInbound>;
export type TwilioStart = z.infer<typeof StartMessage>;
export type TwilioMedia = z.infer<typeof MediaMessage>;

export type ParseResult = { ok: true; message: TwilioInbound } | { ok: false; error: string };

/** Parses one text frame from Twilio. Never throws: bad JSON / unknown shapes come back as errors. */
export function parseTwilioMessage(text: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: "invalid JSON" };
  }
  const media = asMedia(json);
  if (media) return { ok: true, message: media };
  const parsed = TwilioInbound.safeParse(json);
  if (!parsed.success) {
    const event = typeof json === "object" && json !== null && "event" in json ? String(json.event) : "?";
    return { ok: false, error: `invalid Twilio message (event=${event}): ${parsed.error.issues[0]?.message ?? "unknown"}` };
  }
  return { ok: true, message: parsed.data };
}

const optionalString = (v: unknown): boolean => v === undefined || typeof v === "string";

/**
 * The `MediaMessage` shape without zod: the parsed object itself when it is a valid `media`
 * message (unknown keys are left on it; nothing downstream reads them), else null so zod reports why.
 */
function asMedia(json: unknown): TwilioMedia | null {
  if (typeof json !== "object" || json === null) return null;
  const m = json as { event?: unknown; sequenceNumber?: unknown; streamSid?: unknown; media?: unknown };
  if (m.event !== "media" || typeof m.streamSid !== "string" || !optionalString(m.sequenceNumber)) return null;
  const media = m.media;
  if (typeof media !== "object" || media === null) return null;
  const d = media as { track?: unknown; chunk?: unknown; timestamp?: unknown; payload?: unknown };
  if (typeof d.payload !== "string" || !optionalString(d.track) || !optionalString(d.chunk) || !optionalString(d.timestamp)) return null;
  return json as TwilioMedia;
}

/** Outbound `media`: base64 raw μ-law 8 kHz (no header). */
export function mediaMessage(streamSid: string, payloadBase64: string): string {
  return `{"event":"media","streamSid":${JSON.stringify(streamSid)},"media":{"payload":"${payloadBase64}"}}`;
}

/** Outbound `mark`: Twilio echoes it once all audio queued before it has played (or on `clear`). */
export function markMessage(streamSid: string, name: string): string {
  return JSON.stringify({ event: "mark", streamSid, mark: { name } });
}

/** Outbound `clear`: Twilio drops its buffered audio and returns outstanding marks. */
export function clearMessage(streamSid: string): string {
  return JSON.stringify({ event: "clear", streamSid });
}

/** Mark names encode the persona turn and segment: `t<turn>-s<segment>` or `t<turn>-end`. */
export function markName(turn: number, segment: number | "end"): string {
  return segment === "end" ? `t${turn}-end` : `t${turn}-s${segment}`;
}

/** Parses a mark name built by `markName`; null for foreign marks. */
export function parseMarkName(name: string): { turn: number; segment: number | "end" } | null {
  const m = /^t(\d+)-(?:s(\d+)|(end))$/.exec(name);
  if (!m) return null;
  return { turn: Number(m[1]), segment: m[3] ? "end" : Number(m[2]) };
}
