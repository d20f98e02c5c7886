/**
 * The browser as a Twilio Media Streams endpoint. It speaks the same JSON protocol Twilio speaks
 * to the call's Durable Object: `connected`, `start` (stream SID, call SID, tracks, custom
 * parameters, media format), a `media` every 20 ms (160 bytes of 8 kHz μ-law, base64, with
 * `sequenceNumber` across all messages, `chunk` counting media and `timestamp` in ms since the
 * stream started) and `stop`; it receives `media` / `mark` / `clear` and plays them with
 * `PlaybackBuffer` (marks echoed only once the audio before them has played; `clear` drops the
 * buffer and returns outstanding marks).
 *
 * What is sent each frame: queued typed speech (sandbox voice, keyless) first, then microphone
 * audio, otherwise silence. Keyless, what the persona says is decoded from the played audio.
 * The socket and the clock are injected, so the protocol is unit-tested without a browser.
 */
import { PlaybackBuffer } from "./playback";
import { FrameClock } from "./frame-clock";
import type { Speaker } from "./speaker";
import { base64ToBytes, bytesToBase64, encodeSpeech, FRAME_BYTES, FrameQueue, silentFrame, SpeechDecoder } from "./codec";

/** The part of a WebSocket this client uses (its events are fed in with `attachSocket`). */
export interface StreamSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;

export interface BrowserStreamOptions {
  socket: StreamSocket;
  callSid: string;
  /** `start.customParameters` (e.g. the call id). */
  customParameters?: Record<string, string>;
  /** Decode the persona's sandbox voice into text (keyless). @default true */
  decodeSpeech?: boolean;
  speaker?: Speaker | null;
  /** Frame clock factory (tests drive frames by hand). */
  clock?: (onFrame: () => void) => { startClock(): void; stop(): void };
  /** Sandbox-voice speaking rate for typed text. @default 60 */
  msPerChar?: number;
}

export interface BrowserStreamEvents {
  /** Characters of persona speech just played (keyless decoding). */
  personaText?: (text: string) => void;
  /** Whether the persona's audio is playing now (changes only). */
  personaAudible?: (audible: boolean) => void;
  /** Whether the user's typed speech is being sent now (changes only). */
  userSpeaking?: (speaking: boolean) => void;
  /** The server cleared the persona's audio (barge-in). */
  cleared?: () => void;
  /** The socket closed (by either side). */
  closed?: (info: { code: number; reason: string }) => void;
  /** The stream is up (`start` sent). */
  started?: () => void;
}

function randomHex(bytes: number): string {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class BrowserStream {
  readonly streamSid = `MZ${randomHex(16)}`;
  private seq = 0;
  private chunk = 0;
  private frameIndex = 0;
  private readonly typed = new FrameQueue();
  private readonly mic = new FrameQueue();
  private micOn = false;
  private readonly playback: PlaybackBuffer;
  private readonly decoder: SpeechDecoder | null;
  private readonly clock: { startClock(): void; stop(): void };
  private audible = false;
  private quietFrames = 0;
  private speaking = false;
  private stopped = false;
  private started = false;

  constructor(
    private readonly options: BrowserStreamOptions,
    private readonly events: BrowserStreamEvents = {},
  ) {
    this.decoder = options.decodeSpeech === false ? null : new SpeechDecoder();
    this.playback = new PlaybackBuffer({
      onPlay: (frame, voiced) => this.onPlayed(frame, voiced),
      onMark: (name) => this.send({ event: "mark", sequenceNumber: this.nextSeq(), streamSid: this.streamSid, mark: { name } }),
      onClear: () => {
        options.speaker?.flush();
        this.events.cleared?.();
      },
    });
    this.clock = options.clock ? options.clock(() => this.frame()) : new FrameClock(() => this.frame());
    if (options.socket.readyState === OPEN) this.begin();
  }

  /** Milliseconds of persona audio queued to play. */
  get bufferedMs(): number {
    return this.playback.bufferedMs;
  }

  /** Queues `text` as sandbox-voice speech (keyless "typed text stands in for the mic"). */
  say(text: string): number {
    const t = text.trim();
    if (!t) return 0;
    const speech = encodeSpeech(t, this.options.msPerChar);
    this.typed.push(speech.audio);
    return speech.durationMs;
  }

  /** Microphone μ-law bytes (8 kHz) to send; ignored unless `setMicrophone(true)`. */
  pushMicrophone(mulaw: Uint8Array): void {
    if (!this.micOn) return;
    this.mic.push(mulaw);
    // Keep at most ~200 ms queued so a stalled tab doesn't build up delay.
    while (this.mic.length > FRAME_BYTES * 10) this.mic.nextFrame();
  }

  setMicrophone(on: boolean): void {
    this.micOn = on;
    if (!on) this.mic.clear();
  }

  /** Sends `stop`, stops the clock and closes the socket. */
  stop(reason = "user hung up"): void {
    if (this.stopped) return;
    if (this.started) this.send({ event: "stop", sequenceNumber: this.nextSeq(), streamSid: this.streamSid, stop: { accountSid: "browser", callSid: this.options.callSid } });
    this.stopped = true;
    this.clock.stop();
    try {
      this.options.socket.close(1000, reason);
    } catch {
      // already closed
    }
  }

  private nextSeq(): string {
    return String(++this.seq);
  }

  private send(msg: object): void {
    if (this.options.socket.readyState !== OPEN) return;
    this.options.socket.send(JSON.stringify(msg));
  }

  /** The socket opened: sends `connected` + `start` and starts the 20 ms clock. */
  begin(): void {
    if (this.stopped || this.started) return;
    this.started = true;
    this.send({ event: "connected", protocol: "Call", version: "1.0.0" });
    this.send({
      event: "start",
      sequenceNumber: this.nextSeq(),
      streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid,
        accountSid: "browser",
        callSid: this.options.callSid,
        tracks: ["inbound"],
        customParameters: this.options.customParameters ?? {},
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
    });
    this.clock.startClock();
    this.events.started?.();
  }

  /** One 20 ms frame: send what the user says (or silence), play what the persona says. */
  frame(): void {
    if (this.stopped) return;
    const typedFrame = this.typed.nextFrame();
    const out = typedFrame ?? this.mic.nextFrame() ?? silentFrame();
    const speaking = typedFrame !== null;
    if (speaking !== this.speaking) {
      this.speaking = speaking;
      this.events.userSpeaking?.(speaking);
    }
    this.chunk++;
    this.send({
      event: "media",
      sequenceNumber: this.nextSeq(),
      streamSid: this.streamSid,
      media: { track: "inbound", chunk: String(this.chunk), timestamp: String(this.frameIndex * 20), payload: bytesToBase64(out) },
    });
    this.frameIndex++;
    this.playback.playFrame();
  }

  private onPlayed(frame: Uint8Array, voiced: boolean): void {
    this.options.speaker?.play(frame);
    if (voiced) {
      this.quietFrames = 0;
      if (!this.audible) {
        this.audible = true;
        this.events.personaAudible?.(true);
      }
      if (this.decoder) {
        const d = this.decoder.push(frame);
        if (d.chars.length > 0) this.events.personaText?.(d.chars.map((c) => c.char).join(""));
      }
    } else {
      // Feed the silence too so a character split across frames still completes.
      if (this.decoder) {
        const d = this.decoder.push(frame);
        if (d.chars.length > 0) this.events.personaText?.(d.chars.map((c) => c.char).join(""));
      }
      if (this.audible && ++this.quietFrames >= 15) {
        this.audible = false;
        this.events.personaAudible?.(false);
      }
    }
  }

  /** A text frame from the server: `media`, `mark` or `clear`. */
  handleMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const m = msg as { event?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
    if (m.event === "media" && typeof m.media?.payload === "string") {
      this.playback.enqueueMedia(base64ToBytes(m.media.payload));
    } else if (m.event === "mark" && typeof m.mark?.name === "string") {
      this.playback.enqueueMark(m.mark.name);
    } else if (m.event === "clear") {
      this.playback.clear();
    }
  }

  /** The socket closed (either side). */
  handleClose(code: number, reason: string): void {
    this.stopped = true;
    this.clock.stop();
    this.events.closed?.({ code, reason });
  }
}

/** Wires a browser WebSocket's events to a `BrowserStream`. */
export function attachSocket(ws: WebSocket, stream: BrowserStream): void {
  ws.addEventListener("open", () => stream.begin());
  ws.addEventListener("message", (ev: MessageEvent) => stream.handleMessage(ev.data));
  ws.addEventListener("close", (ev: CloseEvent) => stream.handleClose(ev.code, ev.reason));
}
