/**
 * CPU of a changing set of processes over a time window: samples /proc every `intervalMs` and
 * accumulates each process's growth, so a process that exits or is replaced mid-window (wrangler
 * dev restarting workerd after a source change) neither goes negative nor is lost: a process
 * first seen mid-window is charged all of its CPU so far (it started inside the window, except
 * for processes alive at the start, which are baselined then).
 */
import { processTree, type ProcInfo } from "./cpu";

export interface CpuWindow {
  /** CPU ms of the selected processes during the window. */
  cpuMs: number;
  /** Distinct pids seen. */
  pids: number;
  /** Processes that appeared after the window started (e.g. workerd restarts). */
  started: number;
}

export class CpuSampler {
  private readonly last = new Map<number, number>();
  private ticks = 0;
  private started = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly tickMs: number;

  constructor(
    private readonly root: number,
    private readonly select: (p: ProcInfo) => boolean,
    ticksPerSecond: number,
    intervalMs = 250,
  ) {
    this.tickMs = 1000 / ticksPerSecond;
    for (const p of this.procs()) this.last.set(p.pid, p.ticks);
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private procs(): ProcInfo[] {
    return processTree(this.root).filter(this.select);
  }

  private sample(): void {
    for (const p of this.procs()) {
      const prev = this.last.get(p.pid);
      if (prev === undefined) this.started++;
      this.ticks += p.ticks - (prev ?? 0);
      this.last.set(p.pid, p.ticks);
    }
  }

  stop(): CpuWindow {
    clearInterval(this.timer);
    this.sample();
    return { cpuMs: this.ticks * this.tickMs, pids: this.last.size, started: this.started };
  }
}
