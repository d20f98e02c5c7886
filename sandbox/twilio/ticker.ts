/**
 * One shared 20 ms clock for every call in an emulator instance: each active call registers a
 * tick handler and computes how many frames are due from its own start time, so a late timer
 * never drifts the media clock and 100 calls cost one timer, not 100.
 */
import { performance } from "node:perf_hooks";

export type TickHandler = (nowMs: number) => void;

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
    // Wake at the next 20 ms boundary of the process clock (at least 5 ms away).
    const wait = Math.max(5, 20 - (now % 20));
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
