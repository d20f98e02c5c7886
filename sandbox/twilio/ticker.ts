/**
 * One shared 20 ms clock for every call in an emulator instance: each active call registers a
 * tick handler and computes how many frames are due from its own start time, so a late timer
 * never drifts the media clock and 100 calls cost one timer, not 100. A call starts its clock on
 * the ticker's phase (`phaseStart`), so each frame goes out on the tick at which its 20 ms of audio
 * ends — as Twilio sends a frame once captured — not up to a tick later.
 */
import { performance } from "node:perf_hooks";

export type TickHandler = (nowMs: number) => void;

/** The ticker fires on multiples of this many ms of the process clock. */
export const TICK_MS = 20;

export class Ticker {
  private readonly handlers = new Set<TickHandler>();
  private timer: NodeJS.Timeout | null = null;

  add(handler: TickHandler): void {
    this.handlers.add(handler);
    if (!this.timer) this.schedule();
  }

  delete(handler: TickHandler): void {
    this.handlers.delete(handler);
    if (this.handlers.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** The latest tick boundary at or before `nowMs`: a media clock started there is due on every tick. */
  phaseStart(nowMs: number): number {
    return nowMs - (nowMs % TICK_MS);
  }

  get size(): number {
    return this.handlers.size;
  }

  stop(): void {
    this.handlers.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    const now = performance.now();
    // Wake at the next boundary of the process clock (at least 5 ms away).
    const wait = Math.max(5, TICK_MS - (now % TICK_MS));
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    const now = performance.now();
    for (const h of [...this.handlers]) {
      try {
        h(now);
      } catch (err) {
        console.error("[sandbox:twilio] tick handler failed:", err instanceof Error ? err.message : err);
      }
    }
    if (this.handlers.size > 0) this.schedule();
    else this.timer = null;
  }
}
