/**
 * Playback analysis of the audio an app streams to the callee (what Twilio's jitter-free player
 * would do with it), from the arrival time of each outbound message at the Twilio emulator.
 *
 * A persona turn's audio is the run of `media` between turn boundaries: a `clear`, or a `mark`
 * whose name ends in `-end` (the pipeline's `t<n>-end`). Within a turn the player plays each
 * frame (bytes / 8 ms) right after the previous one, or on arrival if it came later:
 *
 * - an **underrun** is a frame that arrived after the previous frame finished playing; it leaves a
 *   gap in the turn's audio of `ceil(gap / 20 ms)` **dropped frames** (frames the player found
 *   missing). Gaps between turns are not underruns.
 * - **pacing deviation** of a frame is |arrival − ideal arrival|, where a pacer keeping `leadMs` of
 *   audio buffered (this frame included) ideally sends a frame once its end is `leadMs` ahead: at
 *   `due + frame − leadMs`, `due` being right after the frame before it; never before the frame that (re)started playback (the initial burst that fills
 *   the lead is on time by definition; a frame that arrives after its due time deviates by all of
 *   its lateness).
 * - **lead** is the audio buffered at the player when a frame arrived, that frame included
 *   (should stay ≤ the pacer's lead).
 *
 * Pure; times are ms on any monotonic clock.
 */

export type OutboundEvent =
  | { kind: "media"; atMs: number; bytes: number; voiced: boolean }
  | { kind: "mark"; atMs: number; name: string }
  | { kind: "clear"; atMs: number };

export interface TurnAudio {
  firstAtMs: number;
  frames: number;
  audioMs: number;
  underruns: number;
  droppedFrames: number;
  /** Ended by a `clear` (barge-in) rather than an end mark or the end of the stream. */
  cleared: boolean;
}

export interface PlaybackAnalysis {
  turns: TurnAudio[];
  frames: number;
  underruns: number;
  droppedFrames: number;
  /** One |deviation| per media frame, ms. */
  pacingDeviationMs: number[];
  /** Max audio buffered at the player right after an arrival (incl. that frame), ms. */
  maxLeadMs: number;
}

export const FRAME_MS = 20;
const BYTES_PER_MS = 8;

export function isTurnEndMark(name: string): boolean {
  return name.endsWith("-end");
}

export function analysePlayback(events: readonly OutboundEvent[], leadMs: number): PlaybackAnalysis {
  const out: PlaybackAnalysis = { turns: [], frames: 0, underruns: 0, droppedFrames: 0, pacingDeviationMs: [], maxLeadMs: 0 };
  let turn: TurnAudio | null = null;
  let playEnd = 0;
  let anchor = 0;

  const close = (cleared: boolean): void => {
    if (turn) {
      turn.cleared = cleared;
      out.turns.push(turn);
    }
    turn = null;
  };

  for (const ev of events) {
    if (ev.kind === "clear") {
      close(true);
      continue;
    }
    if (ev.kind === "mark") {
      if (isTurnEndMark(ev.name)) close(false);
      continue;
    }
    if (ev.bytes <= 0) continue;
    const durMs = ev.bytes / BYTES_PER_MS;
    let start: number;
    // When this frame was due to play: at once for a turn's first frame, else right after the previous one.
    const due = turn ? playEnd : ev.atMs;
    // A pacer holding ≤ leadMs buffered can send this frame once its END is within leadMs.
    out.pacingDeviationMs.push(Math.abs(ev.atMs - Math.max(turn ? anchor : ev.atMs, due + durMs - leadMs)));
    if (!turn) {
      turn = { firstAtMs: ev.atMs, frames: 0, audioMs: 0, underruns: 0, droppedFrames: 0, cleared: false };
      start = ev.atMs;
      anchor = ev.atMs;
    } else if (ev.atMs > playEnd) {
      const dropped = Math.ceil((ev.atMs - playEnd) / FRAME_MS - 1e-9);
      turn.underruns++;
      turn.droppedFrames += dropped;
      out.underruns++;
      out.droppedFrames += dropped;
      start = ev.atMs;
      anchor = ev.atMs;
    } else {
      start = playEnd;
    }
    out.maxLeadMs = Math.max(out.maxLeadMs, start + durMs - ev.atMs);
    playEnd = start + durMs;
    turn.frames++;
    turn.audioMs += durMs;
    out.frames++;
  }
  close(false);
  return out;
}
