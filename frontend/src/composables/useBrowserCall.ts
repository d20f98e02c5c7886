/**
 * A browser call's media: fetches a single-use ticket, opens the call's media WebSocket and runs
 * a `BrowserStream` on it (the browser speaks Twilio's Media Streams protocol to the call's
 * Durable Object; the ticket travels in the `start` message's `customParameters.token`, never in
 * the socket URL). Persona audio plays through Web Audio; the user's side is the microphone when
 * they switch it on, and typed text sent as the sandbox voice (keyless: the Deepgram emulator
 * transcribes it). Keyless, what the persona says is decoded from the audio as it plays and kept
 * as `personaLines` (one per stretch of speech).
 */
import { onBeforeUnmount, ref } from "vue";
import type { Ref } from "vue";
import { BrowserStream, attachSocket } from "../audio/browser-stream";
import { startMicrophone } from "../audio/capture";
import type { Microphone } from "../audio/capture";
import { createWebAudioSpeaker } from "../audio/speaker";
import { describeError } from "../lib/errors";
import { browserSocketUrl, useCallsStore } from "../stores/calls";

export type BrowserCallStatus = "idle" | "connecting" | "connected" | "ended" | "error";
export type MicState = "off" | "starting" | "on" | "unavailable";

export interface UseBrowserCall {
  status: Ref<BrowserCallStatus>;
  error: Ref<string | null>;
  /** Decoded persona speech (keyless), one entry per stretch of speech; the last may be growing. */
  personaLines: Ref<string[]>;
  personaAudible: Ref<boolean>;
  userSpeaking: Ref<boolean>;
  /** What the user typed, in order (shown until the transcript catches up). */
  said: Ref<string[]>;
  mic: Ref<MicState>;
  micError: Ref<string | null>;
  /** True when Web Audio playback is available and running. */
  audioOn: Ref<boolean>;
  connect: (callId: string, opts?: { decodeSpeech?: boolean }) => Promise<void>;
  say: (text: string) => boolean;
  toggleMic: () => Promise<void>;
  /** Resumes audio playback after a user gesture (autoplay policies). */
  enableAudio: () => Promise<void>;
  hangUp: () => void;
}

export function useBrowserCall(): UseBrowserCall {
  const calls = useCallsStore();
  const status = ref<BrowserCallStatus>("idle");
  const error = ref<string | null>(null);
  const personaLines = ref<string[]>([]);
  const personaAudible = ref(false);
  const userSpeaking = ref(false);
  const said = ref<string[]>([]);
  const mic = ref<MicState>("off");
  const micError = ref<string | null>(null);
  const audioOn = ref(false);

  let stream: BrowserStream | null = null;
  let microphone: Microphone | null = null;
  let speaker: ReturnType<typeof createWebAudioSpeaker> = null;
  let newLine = true;

  function refreshAudio(): void {
    audioOn.value = speaker?.context.state === "running";
  }

  async function connect(callId: string, opts: { decodeSpeech?: boolean } = {}): Promise<void> {
    if (status.value === "connecting" || status.value === "connected") return;
    stream?.stop();
    stream = null;
    newLine = true;
    status.value = "connecting";
    error.value = null;
    try {
      const ticket = await calls.browserTicket(callId);
      speaker ??= createWebAudioSpeaker();
      if (speaker) {
        speaker.context.onstatechange = refreshAudio;
        void speaker.resume().then(refreshAudio, refreshAudio);
      }
      const ws = new WebSocket(browserSocketUrl(callId, ticket, location.origin));
      const s = new BrowserStream(
        { socket: ws, callSid: callId, customParameters: { callId, token: ticket.ticket }, decodeSpeech: opts.decodeSpeech ?? true, speaker },
        {
          started: () => (status.value = "connected"),
          personaText: (text) => {
            if (newLine || personaLines.value.length === 0) personaLines.value = [...personaLines.value, text.trimStart()];
            else {
              const lines = [...personaLines.value];
              lines[lines.length - 1] += text;
              personaLines.value = lines;
            }
            newLine = false;
          },
          personaAudible: (a) => {
            personaAudible.value = a;
            if (!a) newLine = true;
          },
          userSpeaking: (v) => (userSpeaking.value = v),
          cleared: () => (newLine = true),
          closed: ({ code, reason }) => {
            stopMic();
            personaAudible.value = false;
            userSpeaking.value = false;
            if (status.value !== "ended") {
              status.value = code === 1000 || code === 1005 ? "ended" : "error";
              if (status.value === "error") error.value = reason || "The call's connection closed unexpectedly.";
            }
          },
        },
      );
      attachSocket(ws, s);
      ws.addEventListener("error", () => {
        if (status.value === "connecting") {
          status.value = "error";
          error.value = "Couldn't connect the call's audio.";
        }
      });
      stream = s;
    } catch (err) {
      status.value = "error";
      error.value = describeError(err);
    }
  }

  function say(text: string): boolean {
    const t = text.trim();
    if (!t || !stream || status.value !== "connected") return false;
    stream.say(t);
    said.value = [...said.value, t];
    return true;
  }

  function stopMic(): void {
    microphone?.stop();
    microphone = null;
    stream?.setMicrophone(false);
    if (mic.value !== "unavailable") mic.value = "off";
  }

  async function toggleMic(): Promise<void> {
    if (mic.value === "on") return stopMic();
    if (!stream || mic.value === "starting") return;
    mic.value = "starting";
    micError.value = null;
    try {
      const s = stream;
      s.setMicrophone(true);
      microphone = await startMicrophone((bytes) => s.pushMicrophone(bytes));
      mic.value = "on";
    } catch (err) {
      stream?.setMicrophone(false);
      mic.value = "unavailable";
      micError.value = err instanceof Error && err.name === "NotAllowedError" ? "Microphone access was blocked. Type instead, or allow the mic in your browser." : "No microphone is available. Type what you want to say instead.";
    }
  }

  async function enableAudio(): Promise<void> {
    speaker ??= createWebAudioSpeaker();
    if (speaker) await speaker.resume().catch(() => undefined);
    refreshAudio();
  }

  function hangUp(): void {
    stopMic();
    stream?.stop();
    stream = null;
    status.value = "ended";
  }

  onBeforeUnmount(() => {
    stopMic();
    stream?.stop();
    speaker?.close();
    speaker = null;
  });

  return { status, error, personaLines, personaAudible, userSpeaking, said, mic, micError, audioOn, connect, say, toggleMic, enableAudio, hangUp };
}
