/**
 * A drift-free 20 ms clock: `onFrame` runs once per elapsed frame, computed from a monotonic
 * time source rather than by counting timer callbacks, so late timers (busy tab, background
 * throttling) catch up instead of slowing the stream. After a stall longer than `maxCatchUp`
 * frames the missed frames are skipped, as a phone network would.
 */
import { FRAME_MS } from "./codec";

export interface FrameClockOptions {
  /** Monotonic ms. @default performance.now */
  now?: () => number;
  /** Timer period in ms. @default 20 */
  intervalMs?: number;
  /** @default 100 (2 s) */
  maxCatchUp?: number;
}

export class FrameClock {
  private timer: ReturnType<typeof setInterval> | null = null;
  private start = 0;
  private done = 0;
  private readonly now: () => number;

  constructor(
    private readonly onFrame: (index: number) => void,
    private readonly options: FrameClockOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Frames run so far. */
  get frames(): number {
    return this.done;
  }

  /** Starts ticking (idempotent). */
  startClock(): void {
    if (this.timer) return;
    this.start = this.now();
    this.done = 0;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? FRAME_MS);
  }

  /** Runs every frame due by now. */
  tick(): void {
    const due = Math.floor((this.now() - this.start) / FRAME_MS);
    const max = this.options.maxCatchUp ?? 100;
    if (due - this.done > max) this.done = due - max;
    while (this.done < due && this.timer) {
      const i = this.done++;
      this.onFrame(i);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
