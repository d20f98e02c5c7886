/**
 * The browser side of a Media Stream's outbound audio, behaving exactly like Twilio's player:
 * `media` payloads are queued and consumed 160 bytes per 20 ms frame (`playFrame`, driven by the
 * call's frame clock); a `mark` is echoed once everything queued before it has played (at once
 * when nothing is queued); `clear` drops the queued audio and echoes every outstanding mark at
 * once. Each played frame goes to `onPlay` (the speaker and, keyless, the sandbox-voice decoder),
 * so what is shown and heard is what was actually played — never audio a `clear` dropped.
 */
import { FRAME_BYTES, MULAW_SILENCE } from "./codec";

type Item = { kind: "audio"; bytes: Uint8Array; off: number } | { kind: "mark"; name: string };

export interface PlaybackHooks {
  /** A frame (160 bytes) has started playing; `voiced` is false for idle silence. */
  onPlay?: (frame: Uint8Array, voiced: boolean) => void;
  /** Echo this mark back to the server. */
  onMark: (name: string) => void;
  /** `clear` dropped `droppedMs` of queued audio. */
  onClear?: (droppedMs: number) => void;
}

export class PlaybackBuffer {
  private queue: Item[] = [];
  private buffered = 0;

  constructor(private readonly hooks: PlaybackHooks) {}

  /** Milliseconds of audio waiting to play. */
  get bufferedMs(): number {
    return this.buffered / 8;
  }

  /** True while queued audio is playing. */
  get playing(): boolean {
    return this.buffered > 0;
  }

  enqueueMedia(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.queue.push({ kind: "audio", bytes, off: 0 });
    this.buffered += bytes.length;
  }

  enqueueMark(name: string): void {
    if (this.queue.length === 0) this.hooks.onMark(name);
    else this.queue.push({ kind: "mark", name });
  }

  /** Drops queued audio and returns every outstanding mark. */
  clear(): void {
    const marks = this.queue.filter((q): q is { kind: "mark"; name: string } => q.kind === "mark");
    const droppedMs = this.buffered / 8;
    this.queue = [];
    this.buffered = 0;
    this.hooks.onClear?.(droppedMs);
    for (const m of marks) this.hooks.onMark(m.name);
  }

  /** Plays one 20 ms frame: queued audio (silence-padded) or silence; echoes marks reached. */
  playFrame(): Uint8Array {
    const out = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    let filled = 0;
    const echoed: string[] = [];
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === "mark") {
        echoed.push(head.name);
        this.queue.shift();
        continue;
      }
      if (filled >= FRAME_BYTES) break;
      const n = Math.min(FRAME_BYTES - filled, head.bytes.length - head.off);
      out.set(head.bytes.subarray(head.off, head.off + n), filled);
      filled += n;
      head.off += n;
      this.buffered -= n;
      if (head.off >= head.bytes.length) this.queue.shift();
    }
    this.hooks.onPlay?.(out, filled > 0);
    for (const name of echoed) this.hooks.onMark(name);
    return out;
  }
}
