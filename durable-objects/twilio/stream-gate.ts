/**
 * StreamGate: what a media socket must get past before anything reaches the call pipeline. A new
 * socket (Twilio's Media Stream, or the browser speaking the same protocol) is "waiting": every
 * frame is ignored — `connected`, `media`, `dtmf`, anything — until a `start` arrives. That
 * `start`'s `customParameters` go to `verify` (the stream token / browser ticket check); frames
 * arriving while it runs are ignored too. A good verdict opens the gate (`accept` gets the `start`
 * with the token removed from its `customParameters`, so it is never stored or logged behind
 * this point); a bad one, a `verify` that throws, or no `start` within `timeoutMs` refuses it
 * (`refuse(reason)`; the reason never contains the token). It opens or refuses once. It does not
 * touch sockets or storage: the Durable Object does that in its callbacks.
 */
import { parseTwilioMessage, type TwilioStart } from "./protocol";

/** What `verify` says of a `start`'s custom parameters. */
export type StreamVerdict = { ok: true } | { ok: false; reason: string };

export interface StreamGateOptions {
  /** Checks the `start`'s custom parameters (the token); must not put the token in `reason`. */
  verify(customParameters: Record<string, string>): Promise<StreamVerdict>;
  /** The gate opened: the `start` (token removed) is the first frame the pipeline may see. */
  accept(start: TwilioStart): void;
  /** The gate refused the socket: close it and record why. */
  refuse(reason: string): void;
  /** Names of custom parameters removed from the accepted `start`. @default ["token"] */
  secretParams?: readonly string[];
  /** A `start` must arrive this soon. @default 10_000 */
  timeoutMs?: number;
}

export type StreamGateState = "waiting" | "checking" | "open" | "refused" | "closed";

export class StreamGate {
  private current: StreamGateState = "waiting";
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(private readonly opts: StreamGateOptions) {
    this.timer = setTimeout(() => this.fail("no start message in time"), opts.timeoutMs ?? 10_000);
  }

  get state(): StreamGateState {
    return this.current;
  }

  /** A text frame that arrived before the gate opened. Only a `start` while waiting is looked at. */
  offer(data: string): void {
    if (this.current !== "waiting") return;
    const parsed = parseTwilioMessage(data);
    if (!parsed.ok || parsed.message.event !== "start") return;
    const start = parsed.message;
    this.current = "checking";
    this.opts.verify(start.start.customParameters).then(
      (verdict) => {
        if (this.current !== "checking") return;
        if (!verdict.ok) return this.fail(verdict.reason);
        this.current = "open";
        clearTimeout(this.timer);
        this.opts.accept(this.withoutSecrets(start));
      },
      () => this.fail("token check failed"),
    );
  }

  /** The socket closed before the gate opened: nothing more happens. */
  close(): void {
    if (this.current === "open" || this.current === "refused") return;
    this.current = "closed";
    clearTimeout(this.timer);
  }

  private fail(reason: string): void {
    if (this.current !== "waiting" && this.current !== "checking") return;
    this.current = "refused";
    clearTimeout(this.timer);
    this.opts.refuse(reason);
  }

  private withoutSecrets(start: TwilioStart): TwilioStart {
    const secrets = this.opts.secretParams ?? ["token"];
    const customParameters = Object.fromEntries(Object.entries(start.start.customParameters).filter(([k]) => !secrets.includes(k)));
    return { ...start, start: { ...start.start, customParameters } };
  }
}
