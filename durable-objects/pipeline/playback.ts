/**
 * Outbound audio for one call: re-framing into 20 ms μ-law frames, pacing, Twilio marks and
 * "what has the caller heard".
 *
 * - TTS audio of each persona turn is appended in arbitrary chunks and cut into 160-byte frames
 *   (views, no copies, except a frame straddling two chunks).
 * - Frames go out as `media` messages of up to `tickMs` of audio (60 ms: 3 frames, base64 once),
 *   no more than `leadMs` ahead of real time: Twilio plays whatever it has buffered, so a small
 *   lead keeps barge-in (`clear`) effective and the heard-text estimate honest. While frames are
 *   queued the pacer wakes when the next full message fits within the lead (every `tickMs` in
 *   steady state). A message is shorter when fewer frames are queued (a
 *   turn's first audio and its last frames go out at once, never waiting to fill a message) or
 *   when a mark falls inside it; when only the lead limits it, the rest waits for the next tick.
 * - A mark `t<turn>-s<segment>` is sent right after the frame holding the last character of each
 *   segment (from ElevenLabs alignment; at turn end without alignment), and `t<turn>-end` after
 *   the turn's last frame.
 * - Character positions count non-whitespace characters only: vendors' alignment may drop or
 *   merge spaces, so whitespace would make the mapping drift.
 * - The play clock: each frame starts playing at max(now, end of the previous frame). From it
 *   the module knows whether the caller is hearing persona audio now (`audible`) and how many
 *   characters of a turn have been played (`heardChars`), refined by echoed marks.
 * It knows nothing about LLMs or transcripts.
 */
import type { Alignment, Clock, TimerHandle } from "../providers/types";
import { bytesToBase64 } from "./audio";
import { clearMessage, markMessage, markName, mediaMessage, parseMarkName } from "../twilio/protocol";

export const FRAME_BYTES = 160;
export const FRAME_MS = 20;
const SILENCE = 0xff;

export interface PlaybackOptions {
  clock: Clock;
  /** Sends a serialized Twilio message. */
  send(json: string): void;
  /** Max audio buffered at Twilio ahead of real time. @default 200 */
  leadMs?: number;
  /** Pump interval while frames are queued, and the most audio per `media` message (whole frames). @default 60 */
  tickMs?: number;
  /** How long past the expected end of audio to wait for a turn's end mark. @default 1500 */
  markGraceMs?: number;
  /** Persona audio started/stopped being audible. */
  onAudibleChange?(audible: boolean): void;
  /** First frame of a turn was sent. */
  onFirstFrame?(turn: number, at: number): void;
  /** A segment mark of a turn was echoed by Twilio (its audio played). */
  onMarkEchoed?(turn: number, segment: number | "end", at: number): void;
  /** A turn finished playing (end mark echoed, or its expected end + grace passed). */
  onTurnPlayed?(turn: number): void;
}

interface PendingMark {
  /** Segment ends after this many non-whitespace characters of the turn's text. */
  chars: number;
  segment: number;
  /** Turn-local audio position of the mark once known (from alignment). */
  atMs: number | null;
  sent: boolean;
}

interface PlaybackTurn {
  turn: number;
  frames: Uint8Array[];
  head: number;
  /** Partial frame carried between chunks. */
  carry: Uint8Array;
  carryLen: number;
  /** Turn-local ms of audio appended (whole frames). */
  queuedMs: number;
  /** Turn-local ms of audio sent. */
  sentMs: number;
  /** Stream position (ms) where the turn's first frame was sent; null before. */
  streamBase: number | null;
  /** Turn-local end time of each aligned non-whitespace character, in text order. */
  charEndMs: number[];
  /** Characters confirmed heard through echoed marks. */
  confirmedChars: number;
  marks: PendingMark[];
  ended: boolean;
  endMarkSent: boolean;
  done: boolean;
  cancelled: boolean;
  expectedEndAt: number;
}

export class Playback {
  private readonly clock: Clock;
  private readonly leadMs: number;
  private readonly tickMs: number;
  /** Frames per `media` message at most (`tickMs` / 20, at least 1). */
  private readonly framesPerMessage: number;
  /** Reused buffer a multi-frame message is assembled in before its base64 encoding. */
  private readonly scratch: Uint8Array;
  private readonly markGraceMs: number;
  private streamSid: string | null = null;
  private readonly turns: PlaybackTurn[] = [];
  private readonly byTurn = new Map<number, PlaybackTurn>();
  /** Stream ms of audio sent so far (whole call). */
  private sentStreamMs = 0;
  /** Wall time at which the audio sent so far finishes playing. */
  private playEndAt = 0;
  /** Play clock anchor: stream position `anchorStreamMs` started playing at `anchorAt`. */
  private anchorStreamMs = 0;
  private anchorAt = 0;
  private timer: TimerHandle | null = null;
  private idleTimer: TimerHandle | null = null;
  private audibleNow = false;
  /** Highest lead (ms of unplayed audio at Twilio) seen right after a send; for tests/bench. */
  maxLeadObservedMs = 0;

  constructor(private readonly opts: PlaybackOptions) {
    this.clock = opts.clock;
    this.leadMs = opts.leadMs ?? 200;
    this.tickMs = opts.tickMs ?? 60;
    this.framesPerMessage = Math.max(1, Math.floor(this.tickMs / FRAME_MS));
    this.scratch = new Uint8Array(this.framesPerMessage * FRAME_BYTES);
    this.markGraceMs = opts.markGraceMs ?? 1500;
  }

  /** Twilio stream is up: frames queued before (a pre-generated greeting) start flowing now. */
  setStreamSid(streamSid: string): void {
    this.streamSid = streamSid;
    this.pump();
  }

  beginTurn(turn: number): void {
    if (this.byTurn.has(turn)) return;
    const t: PlaybackTurn = {
      turn,
      frames: [],
      head: 0,
      carry: new Uint8Array(FRAME_BYTES),
      carryLen: 0,
      queuedMs: 0,
      sentMs: 0,
      streamBase: null,
      charEndMs: [],
      confirmedChars: 0,
      marks: [],
      ended: false,
      endMarkSent: false,
      done: false,
      cancelled: false,
      expectedEndAt: 0,
    };
    this.turns.push(t);
    this.byTurn.set(turn, t);
  }

  /** Declares that segment `segment` of `turn` ends after `chars` non-whitespace characters of the turn's text. */
  addSegmentEnd(turn: number, segment: number, chars: number): void {
    const t = this.byTurn.get(turn);
    if (!t || t.cancelled) return;
    const mark: PendingMark = { chars, segment, atMs: null, sent: false };
    if (t.charEndMs.length >= chars && chars > 0) mark.atMs = t.charEndMs[chars - 1] ?? null;
    t.marks.push(mark);
  }

  /** Appends TTS audio (μ-law) for a turn, with the alignment of the characters it voices. */
  pushAudio(turn: number, audio: Uint8Array, alignment: Alignment | null): void {
    const t = this.byTurn.get(turn);
    if (!t || t.cancelled || t.ended) return;
    const chunkStartMs = t.queuedMs + t.carryLen / 8;
    if (alignment) {
      const n = alignment.chars.length;
      for (let i = 0; i < n; i++) {
        const ch = alignment.chars[i] ?? " ";
        if (ch === " " || ch === "\n" || ch === "\t" || ch === "") continue;
        const end = chunkStartMs + (alignment.charStartTimesMs[i] ?? 0) + (alignment.charsDurationsMs[i] ?? 0);
        t.charEndMs.push(end);
      }
      for (const m of t.marks) if (m.atMs === null && t.charEndMs.length >= m.chars && m.chars > 0) m.atMs = t.charEndMs[m.chars - 1] ?? null;
    }
    let off = 0;
    if (t.carryLen > 0) {
      const take = Math.min(FRAME_BYTES - t.carryLen, audio.length);
      t.carry.set(audio.subarray(0, take), t.carryLen);
      t.carryLen += take;
      off = take;
      if (t.carryLen === FRAME_BYTES) {
        t.frames.push(t.carry);
        t.queuedMs += FRAME_MS;
        t.carry = new Uint8Array(FRAME_BYTES);
        t.carryLen = 0;
      }
    }
    while (audio.length - off >= FRAME_BYTES) {
      t.frames.push(audio.subarray(off, off + FRAME_BYTES));
      t.queuedMs += FRAME_MS;
      off += FRAME_BYTES;
    }
    if (off < audio.length) {
      t.carry.set(audio.subarray(off), 0);
      t.carryLen = audio.length - off;
    }
    this.pump();
  }

  /** No more audio for this turn: pads the last frame with silence and queues the end mark. */
  endTurn(turn: number): void {
    const t = this.byTurn.get(turn);
    if (!t || t.ended) return;
    t.ended = true;
    if (t.carryLen > 0) {
      t.carry.fill(SILENCE, t.carryLen);
      t.frames.push(t.carry);
      t.queuedMs += FRAME_MS;
      t.carryLen = 0;
    }
    this.pump();
  }

  /**
   * Stops a turn now (barge-in): drops its queued audio and, if any of it may still be buffered
   * at Twilio, sends `clear`. Returns the characters the caller heard. Later marks of the turn are ignored.
   */
  cancelTurn(turn: number): number {
    const t = this.byTurn.get(turn);
    if (!t) return 0;
    const heard = this.heardChars(turn);
    if (t.cancelled || t.done) return heard;
    t.cancelled = true;
    t.ended = true;
    t.frames.length = 0;
    t.head = 0;
    const now = this.clock.now();
    if (this.streamSid && t.streamBase !== null && this.playEndAt > now) {
      this.opts.send(clearMessage(this.streamSid));
      // Twilio dropped its buffer: the stream position is what has played.
      this.sentStreamMs = this.playedStreamMs(now);
      this.playEndAt = now;
    }
    this.finishTurn(t);
    return heard;
  }

  /** Twilio echoed a mark. */
  onMark(name: string): void {
    const parsed = parseMarkName(name);
    if (!parsed) return;
    const t = this.byTurn.get(parsed.turn);
    if (!t || t.cancelled) return;
    const now = this.clock.now();
    if (parsed.segment === "end") {
      t.confirmedChars = Math.max(t.confirmedChars, t.charEndMs.length, ...t.marks.map((m) => m.chars));
      this.opts.onMarkEchoed?.(t.turn, "end", now);
      this.finishTurn(t);
      return;
    }
    const m = t.marks.find((x) => x.segment === parsed.segment);
    if (m) t.confirmedChars = Math.max(t.confirmedChars, m.chars);
    this.opts.onMarkEchoed?.(t.turn, parsed.segment, now);
  }

  /** Non-whitespace characters of the turn's text the caller has heard by now. */
  heardChars(turn: number): number {
    const t = this.byTurn.get(turn);
    if (!t || t.streamBase === null) return t?.confirmedChars ?? 0;
    if (t.done && !t.cancelled) return Math.max(t.confirmedChars, t.charEndMs.length);
    const playedLocal = this.playedStreamMs(this.clock.now()) - t.streamBase;
    let n = 0;
    const ends = t.charEndMs;
    while (n < ends.length && (ends[n] ?? Infinity) <= playedLocal) n++;
    return Math.max(n, t.confirmedChars);
  }

  /** Turn-local ms of the turn's audio the caller has heard. */
  heardMs(turn: number): number {
    const t = this.byTurn.get(turn);
    if (!t || t.streamBase === null) return 0;
    return Math.max(0, Math.min(t.sentMs, this.playedStreamMs(this.clock.now()) - t.streamBase));
  }

  /** Whether the caller is hearing (or about to hear) persona audio. */
  get audible(): boolean {
    return this.audibleNow;
  }

  /** Whether any turn still has audio to play or marks outstanding. */
  get busy(): boolean {
    return this.turns.some((t) => !t.done);
  }

  /** Milliseconds of unplayed audio currently buffered at Twilio. */
  bufferedMs(): number {
    return Math.max(0, this.playEndAt - this.clock.now());
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
    this.timer = null;
    this.idleTimer = null;
    for (const t of this.turns) {
      t.cancelled = true;
      t.done = true;
    }
    this.turns.length = 0;
  }

  private playedStreamMs(now: number): number {
    return Math.min(this.sentStreamMs, this.anchorStreamMs + Math.max(0, now - this.anchorAt));
  }

  private pump(): void {
    if (!this.streamSid) return;
    const sid = this.streamSid;
    const now = this.clock.now();
    for (;;) {
      const t = this.turns.find((x) => !x.endMarkSent && !x.cancelled);
      if (!t) break;
      if (t.head < t.frames.length) {
        const queued = t.frames.length - t.head;
        const roomFrames = Math.floor((this.leadMs - (this.playEndAt - now)) / FRAME_MS);
        let n = Math.min(this.framesPerMessage, queued, roomFrames);
        // Only the lead limits it: the whole message waits for the next tick (Twilio still holds ≥ lead − tick).
        if (n <= 0 || (n < this.framesPerMessage && n < queued)) break;
        n = Math.min(n, this.framesToNextMark(t));
        if (this.playEndAt <= now) {
          // Underrun (or first audio): playback restarts now.
          this.anchorStreamMs = this.sentStreamMs;
          this.anchorAt = now;
          this.playEndAt = now;
        }
        if (t.streamBase === null) {
          t.streamBase = this.sentStreamMs;
          this.opts.onFirstFrame?.(t.turn, now);
        }
        this.opts.send(mediaMessage(sid, this.encodeFrames(t, n)));
        const ms = n * FRAME_MS;
        this.sentStreamMs += ms;
        this.playEndAt += ms;
        t.sentMs += ms;
        const lead = this.playEndAt - now;
        if (lead > this.maxLeadObservedMs) this.maxLeadObservedMs = lead;
        this.setAudible(true);
        for (const m of t.marks) {
          if (!m.sent && m.atMs !== null && m.atMs <= t.sentMs) {
            m.sent = true;
            this.opts.send(markMessage(sid, markName(t.turn, m.segment)));
          }
        }
        if (t.head === t.frames.length) {
          t.frames.length = 0;
          t.head = 0;
        }
        continue;
      }
      if (!t.ended) break;
      // All audio of the turn is out: remaining marks, then the end mark.
      for (const m of t.marks) {
        if (!m.sent) {
          m.sent = true;
          if (t.streamBase !== null) this.opts.send(markMessage(sid, markName(t.turn, m.segment)));
        }
      }
      t.endMarkSent = true;
      if (t.streamBase === null) {
        this.finishTurn(t);
        continue;
      }
      this.opts.send(markMessage(sid, markName(t.turn, "end")));
      t.expectedEndAt = this.playEndAt;
    }
    this.schedule(now);
  }

  /**
   * Takes the next `n` frames of the turn and returns them base64-encoded as one payload: frames
   * that are consecutive views of one TTS chunk are encoded in place, others copied into `scratch`.
   */
  private encodeFrames(t: PlaybackTurn, n: number): string {
    const first = t.frames[t.head] ?? EMPTY;
    let contiguous = true;
    for (let i = 1; i < n && contiguous; i++) {
      const f = t.frames[t.head + i] ?? EMPTY;
      contiguous = f.buffer === first.buffer && f.byteOffset === first.byteOffset + i * FRAME_BYTES;
    }
    let payload: string;
    if (contiguous) {
      payload = bytesToBase64(new Uint8Array(first.buffer, first.byteOffset, n * FRAME_BYTES));
    } else {
      for (let i = 0; i < n; i++) this.scratch.set(t.frames[t.head + i] ?? EMPTY, i * FRAME_BYTES);
      payload = bytesToBase64(this.scratch, 0, n * FRAME_BYTES);
    }
    for (let i = 0; i < n; i++) t.frames[t.head + i] = EMPTY;
    t.head += n;
    return payload;
  }

  /** Frames that can go out before the next unsent mark must follow (so marks stay frame-exact). */
  private framesToNextMark(t: PlaybackTurn): number {
    let limit = Infinity;
    for (const m of t.marks) {
      if (m.sent || m.atMs === null || m.atMs <= t.sentMs) continue;
      limit = Math.min(limit, Math.ceil((m.atMs - t.sentMs) / FRAME_MS - 1e-9));
    }
    return Math.max(1, limit);
  }

  private schedule(now: number): void {
    const pending = this.turns.some((t) => !t.cancelled && t.head < t.frames.length);
    if (pending) {
      // The tick re-runs pump → schedule, finishing overdue turns first: no idle timer meanwhile.
      if (this.timer === null) {
        // Wake when a full message fits within the lead again (at most one tick away).
        const untilRoom = this.playEndAt - now - (this.leadMs - this.framesPerMessage * FRAME_MS);
        this.timer = this.clock.setTimeout(
          () => {
            this.timer = null;
            this.finishOverdue(this.clock.now());
            this.pump();
          },
          untilRoom > 0 ? Math.min(this.tickMs, Math.ceil(untilRoom)) : this.tickMs,
        );
      }
      if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
      this.idleTimer = null;
      return;
    }
    // Wake when the buffered audio should have played out, or an end mark is overdue.
    if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    let wake = this.playEndAt > now ? this.playEndAt : Infinity;
    for (const t of this.turns) {
      if (t.endMarkSent && !t.done) wake = Math.min(wake, t.expectedEndAt + this.markGraceMs);
    }
    if (wake !== Infinity) {
      this.idleTimer = this.clock.setTimeout(() => {
        this.idleTimer = null;
        this.checkIdle();
      }, Math.max(1, wake - now));
    } else {
      this.updateAudible(now);
    }
  }

  private checkIdle(): void {
    const now = this.clock.now();
    this.finishOverdue(now);
    this.updateAudible(now);
    this.schedule(now);
  }

  /** Finishes turns whose end mark is overdue (expected end + grace passed). */
  private finishOverdue(now: number): void {
    for (const t of [...this.turns]) {
      if (t.endMarkSent && !t.done && now >= t.expectedEndAt + this.markGraceMs) this.finishTurn(t);
    }
  }

  private updateAudible(now: number): void {
    const hasQueued = this.turns.some((t) => !t.cancelled && t.head < t.frames.length);
    const awaitingMarks = this.turns.some((t) => !t.done && !t.cancelled && t.streamBase !== null);
    this.setAudible(hasQueued || now < this.playEndAt || awaitingMarks);
  }

  private finishTurn(t: PlaybackTurn): void {
    if (t.done) return;
    t.done = true;
    const i = this.turns.indexOf(t);
    if (i >= 0) this.turns.splice(i, 1);
    // Keep the record (heardChars after the fact) but bound memory to recent turns.
    if (this.byTurn.size > 8) {
      const oldest = this.byTurn.keys().next().value;
      if (oldest !== undefined && oldest !== t.turn) this.byTurn.delete(oldest);
    }
    this.updateAudible(this.clock.now());
    this.opts.onTurnPlayed?.(t.turn);
    this.pump();
  }

  private setAudible(v: boolean): void {
    if (v === this.audibleNow) return;
    this.audibleNow = v;
    this.opts.onAudibleChange?.(v);
  }
}

const EMPTY = new Uint8Array(0);
