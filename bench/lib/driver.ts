/**
 * Runs scripted calls through a running stack: registers each user's callee scenario on the
 * Twilio emulator, places the calls through the API (`POST /api/calls`, the product's own path),
 * taps each emulator call's media stream as soon as the emulator creates it (before it is
 * answered), waits for every call to end and returns the emulator's call records with the taps.
 */
import type { Call } from "../../sandbox/twilio/call";
import type { Scenario } from "../../sandbox/twilio/scenario";
import type { TwilioEmulatorHandle } from "../../sandbox/twilio/server";
import { tapCall, type CallTap } from "./tap";
import { placeCall, type BenchUser } from "./users";

export interface CallRun {
  user: BenchUser;
  callId: string | null;
  call: Call | null;
  tap: CallTap | null;
  /** Why the call produced no record (placement failed, timeout…). */
  error: string | null;
}

export interface RunOptions {
  baseUrl: string;
  twilio: TwilioEmulatorHandle;
  personaId: string;
  users: readonly BenchUser[];
  scenarioFor(index: number): Scenario;
  /** Spread call placements over this long (ms) so they don't all hit the Worker at once. @default 0 */
  staggerMs?: number;
  /** Per call. @default 180_000 */
  timeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runCalls(opts: RunOptions): Promise<CallRun[]> {
  const byPhone = new Map(opts.users.map((u) => [u.phone, u]));
  const tapped = new Map<Call, CallTap>();
  const before = new Set(opts.twilio.calls());
  // Tap new emulator calls for our numbers as soon as they exist (they ring before the stream opens).
  const poll = setInterval(() => {
    for (const c of opts.twilio.calls()) {
      if (before.has(c) || tapped.has(c) || !byPhone.has(c.params.to)) continue;
      tapped.set(c, tapCall(c));
    }
  }, 2);
  try {
    opts.users.forEach((u, i) => opts.twilio.setPhone(u.phone, { scenario: opts.scenarioFor(i) }));
    const step = opts.users.length > 1 ? (opts.staggerMs ?? 0) / opts.users.length : 0;
    return await Promise.all(
      opts.users.map(async (user, i): Promise<CallRun> => {
        await sleep(i * step);
        let callId: string | null = null;
        try {
          callId = (await placeCall(opts.baseUrl, user, opts.personaId)).id;
        } catch (err) {
          return { user, callId, call: null, tap: null, error: err instanceof Error ? err.message : String(err) };
        }
        const call = opts.twilio.calls().find((c) => !before.has(c) && c.params.to === user.phone) ?? null;
        if (!call) return { user, callId, call: null, tap: null, error: "the app never created a Twilio call" };
        if (!tapped.has(call)) tapped.set(call, tapCall(call));
        try {
          await opts.twilio.waitForCall(call.sid, opts.timeoutMs ?? 180_000);
        } catch (err) {
          return { user, callId, call, tap: tapped.get(call) ?? null, error: err instanceof Error ? err.message : String(err) };
        }
        return { user, callId, call, tap: tapped.get(call) ?? null, error: null };
      }),
    );
  } finally {
    clearInterval(poll);
  }
}

/** Seconds of media stream in a call (stream open → close), from the emulator's record. */
export function streamSeconds(call: Call): number {
  let ms = 0;
  for (const s of call.streams) if (s.endedMs !== null) ms += s.endedMs - s.startedMs;
  return ms / 1000;
}
