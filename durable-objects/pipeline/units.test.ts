/** The small pure pieces of the pipeline: base64, VAD, chunker, barge-in gate, turn-taking, call rules. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeSpeech, silence } from "../../sandbox/codec/speech-codec";
import { binaryToBytes, countNonSpace, indexAfterNonSpace, messageText, realClock, type TranscriptResult } from "../providers/types";
import { EnergyVad, base64ToBytes, bytesToBase64 } from "./audio";
import { isBackchannel, isPickup, shouldBargeIn } from "./barge-in";
import { CallRules } from "./call-rules";
import { SentenceChunker } from "./sentence-chunker";
import { normalizeUtterance, sameUtterance } from "./speculation";
import { TurnTaker, type CallerTurn } from "./turn-taking";

describe("base64", () => {
  it("round-trips any length and matches the platform encoder", () => {
    for (const n of [0, 1, 2, 3, 159, 160, 161]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
      const b64 = bytesToBase64(bytes);
      expect(b64).toBe(Buffer.from(bytes).toString("base64"));
      expect(base64ToBytes(b64)).toEqual(bytes);
    }
  });

  it("encodes a sub-range and buffers longer than one binary-string chunk", () => {
    const bytes = new Uint8Array(20_001).map((_, i) => (i * 53 + 7) & 0xff);
    expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
    expect(bytesToBase64(bytes, 160, 480)).toBe(Buffer.from(bytes.subarray(160, 480)).toString("base64"));
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
  });

  it("decodes URL-safe, unpadded and whitespace-broken base64", () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x01, 0x02]);
    expect(base64ToBytes(Buffer.from(bytes).toString("base64url"))).toEqual(bytes);
    expect(base64ToBytes("+/+/AQI")).toEqual(bytes);
    expect(base64ToBytes("+/+/\nAQI=")).toEqual(bytes);
  });
});

describe("WebSocket payloads", () => {
  it("normalises ArrayBuffer, views, Node Buffers, fragment arrays and Blobs to bytes; text stays text", async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const norm = async (d: unknown) => {
      const b = await binaryToBytes(d);
      return b ? [...b] : null;
    };
    expect(await norm(bytes.buffer.slice(0))).toEqual([1, 2, 3]);
    expect(await norm(new DataView(bytes.buffer.slice(0)))).toEqual([1, 2, 3]);
    expect(await norm(Buffer.from(bytes))).toEqual([1, 2, 3]);
    expect(await norm([Buffer.from([1]), Buffer.from([2, 3])])).toEqual([1, 2, 3]);
    expect(await norm(new Blob([bytes]))).toEqual([1, 2, 3]);
    expect(await binaryToBytes("text")).toBeNull();
    expect(await messageText(new TextEncoder().encode('{"a":1}'))).toBe('{"a":1}');
  });

  it("maps alignment positions by non-whitespace characters", () => {
    expect(countNonSpace("Hi there. ")).toBe(8);
    expect("Hi there. ".slice(0, indexAfterNonSpace("Hi there. ", 2))).toBe("Hi");
    expect("Hi there. ".slice(0, indexAfterNonSpace("Hi there. ", 3))).toBe("Hi t");
  });
});

describe("EnergyVad", () => {
  it("starts on voiced frames and stops after the hangover of quiet", () => {
    const vad = new EnergyVad({ startMs: 60, stopMs: 200 });
    const speech = encodeSpeech("hello", 60).audio;
    const quiet = silence(400);
    const transitions: string[] = [];
    for (const buf of [speech, quiet]) {
      for (let i = 0; i < buf.length; i += 160) {
        const t = vad.push(buf.subarray(i, i + 160));
        if (t) transitions.push(t);
      }
    }
    expect(transitions).toEqual(["start", "stop"]);
    expect(vad.speaking).toBe(false);
  });
});

describe("SentenceChunker", () => {
  it("emits whole sentences as they complete, a clause early for the first chunk", () => {
    const c = new SentenceChunker({ firstChunkMinChars: 20, firstChunkWordChars: 0 });
    const out: string[] = [];
    for (const tok of "Well, that is a great question, honestly. Dr. Smith said 3.5 miles is fine! Want to try? Sure".split(/(?<= )/)) {
      out.push(...c.push(tok));
    }
    out.push(...c.flush());
    expect(out).toEqual(["Well, that is a great question,", "honestly.", "Dr. Smith said 3.5 miles is fine!", "Want to try?", "Sure"]);
  });

  it("by default ends the first chunk after its first few words, later chunks at sentence ends", () => {
    const c = new SentenceChunker();
    const out: string[] = [];
    for (const tok of "Great to hear from you today. How was the run?".split(/(?<= )/)) out.push(...c.push(tok));
    out.push(...c.flush());
    expect(out).toEqual(["Great to hear", "from you today.", "How was the run?"]);
    // A clause end after 10 characters comes first.
    const d = new SentenceChunker();
    expect(d.push("Right then, so ")).toEqual(["Right then,"]);
  });

  it("holds short sentences back and cuts runaway text at whitespace", () => {
    const c = new SentenceChunker({ minChars: 8, maxChars: 40 });
    expect(c.push("Hi. ")).toEqual([]);
    expect(c.push("How are you? ")).toEqual(["Hi. How are you?"]);
    const long = c.push("and then we walked and walked and walked along the long long road ");
    expect(long.length).toBeGreaterThan(0);
    expect(long.every((s) => s.length <= 45)).toBe(true);
  });
});

describe("barge-in gate", () => {
  it("treats acknowledgements as backchannels", () => {
    for (const t of ["uh-huh", "Yeah.", "mm-hmm", "okay", "Right.", "yeah okay", "I see", "got it"]) expect(isBackchannel(t), t).toBe(true);
    for (const t of ["wait", "no stop", "hold on", "yeah but what about Sunday", ""]) expect(isBackchannel(t), t).toBe(false);
  });

  it("decides on the first partial word that cannot become a backchannel, with a voiced-time guard", () => {
    const base = { voicedMs: 200, personaAudibleForMs: 2000 };
    // "S" may still be "sure"; "So" cannot be any backchannel word.
    expect(shouldBargeIn({ ...base, text: "S" })).toBe(false);
    expect(shouldBargeIn({ ...base, text: "So" })).toBe(true);
    expect(shouldBargeIn({ ...base, text: "wait" })).toBe(true);
    expect(shouldBargeIn({ ...base, text: "hold on" })).toBe(true);
    // Too little voice yet: a click or a cough with a stray letter.
    expect(shouldBargeIn({ ...base, text: "So", voicedMs: 100 })).toBe(false);
    // Backchannels, whole or in progress, never interrupt however long they are voiced.
    for (const text of ["uh-huh", "Uh-hu", "yeah", "Yea", "okay", "ok", "mm-hmm", "Mm", "right", "Rig", "I see", "oh okay", "yeah yeah yeah"]) {
      expect(shouldBargeIn({ ...base, text, voicedMs: 900 }), text).toBe(false);
    }
    // "okay so listen": interrupts once a word that is not a backchannel appears.
    expect(shouldBargeIn({ ...base, text: "okay" })).toBe(false);
    expect(shouldBargeIn({ ...base, text: "okay so" })).toBe(true);
    expect(shouldBargeIn({ ...base, text: "yeah but what" })).toBe(true);
    // Voice with no words at all needs longer.
    expect(shouldBargeIn({ ...base, text: "", voicedMs: 500 })).toBe(false);
    expect(shouldBargeIn({ ...base, text: "", voicedMs: 720 })).toBe(true);
    expect(shouldBargeIn({ ...base, text: "hold on", personaAudibleForMs: 100 })).toBe(false);
    expect(shouldBargeIn({ ...base, text: "hold on" }, { enabled: false })).toBe(false);
  });

  it("lets a phone pickup over the greeting through, but not a real interruption", () => {
    const base = { voicedMs: 600, personaAudibleForMs: 2000, pickup: true };
    for (const text of ["Hello?", "Hel", "Hi, who's this?", "Hello, who is this?", "Yes, hello", "Hey"]) {
      expect(shouldBargeIn({ ...base, text }), text).toBe(false);
      expect(isPickup(text) || text === "Hel", text).toBe(true);
    }
    expect(shouldBargeIn({ ...base, text: "Hello, I can't" })).toBe(true);
    expect(shouldBargeIn({ ...base, text: "Hello? Tell" })).toBe(true);
    // Outside the pickup window "Hello?" is talk.
    expect(shouldBargeIn({ ...base, text: "Hello?", pickup: false })).toBe(true);
    expect(isPickup("Hello? Tell me everything")).toBe(false);
  });
});

describe("speculation matching", () => {
  it("compares transcripts ignoring case, punctuation and spacing", () => {
    expect(normalizeUtterance("  What's  the PLAN, today? ")).toBe("what's the plan today");
    expect(sameUtterance("Call me back tomorrow.", "call me back tomorrow")).toBe(true);
    expect(sameUtterance("Call me back tomorrow.", "call me back to Mara")).toBe(false);
  });
});

describe("TurnTaker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const r = (transcript: string, o: Partial<TranscriptResult> = {}): TranscriptResult => ({
    transcript,
    isFinal: false,
    speechFinal: false,
    fromFinalize: false,
    wordCount: transcript.split(" ").length,
    confidence: 0.9,
    startMs: 0,
    durationMs: 0,
    ...o,
  });
  function make(speaking = false) {
    const turns: CallerTurn[] = [];
    const tt = new TurnTaker({ clock: realClock, timeoutMs: 1000, isSpeaking: () => speaking, onTurn: (t) => turns.push(t) });
    return { tt, turns };
  }

  it("accumulates is_final segments and ends on speech_final", () => {
    const { tt, turns } = make();
    tt.onTranscript(r("call me"));
    tt.onTranscript(r("call me back", { isFinal: true }));
    tt.onTranscript(r("tomorrow", { isFinal: true, speechFinal: true }));
    expect(turns.map((t) => [t.text, t.reason])).toEqual([["call me back tomorrow", "speech_final"]]);
  });

  it("falls back to UtteranceEnd, then to the silence timeout", async () => {
    const a = make();
    a.tt.onTranscript(r("call me back", { isFinal: true }));
    a.tt.onUtteranceEnd();
    expect(a.turns.map((t) => t.reason)).toEqual(["utterance_end"]);

    const b = make();
    b.tt.onTranscript(r("call me back"));
    await vi.advanceTimersByTimeAsync(999);
    expect(b.turns).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(b.turns.map((t) => [t.text, t.reason])).toEqual([["call me back", "timeout"]]);
  });

  it("an early Finalize's result inside the VAD hangover ends the turn only at the VAD stop", () => {
    let speaking = true;
    const turns: CallerTurn[] = [];
    const tt = new TurnTaker({ clock: realClock, timeoutMs: 1000, isSpeaking: () => speaking, onTurn: (t) => turns.push(t) });
    tt.noteFinalizeSent();
    tt.onTranscript(r("call me back", { isFinal: true, fromFinalize: true }));
    expect(turns).toEqual([]);
    speaking = false;
    tt.onVadStop(200);
    expect(turns.map((t) => [t.text, t.reason])).toEqual([["call me back", "finalize"]]);
  });

  it("does not end the turn on an early Finalize's result when the caller resumed or said more", () => {
    let speaking = true;
    const turns: CallerTurn[] = [];
    const tt = new TurnTaker({ clock: realClock, timeoutMs: 1000, isSpeaking: () => speaking, onTurn: (t) => turns.push(t) });
    tt.noteFinalizeSent();
    tt.onTranscript(r("call me", { isFinal: true, fromFinalize: true }));
    tt.onSpeechResumed();
    tt.onTranscript(r("back"));
    speaking = false;
    tt.onVadStop(200);
    expect(turns).toEqual([]);
    // The Finalize sent at the stop covers the rest.
    tt.noteFinalizeSent();
    tt.onTranscript(r("back", { isFinal: true, fromFinalize: true }));
    expect(turns.map((t) => [t.text, t.reason])).toEqual([["call me back", "finalize"]]);
  });
});

describe("CallRules", () => {
  it("schedules one warning before the limit and detects voicemail", () => {
    const rules = new CallRules({ maxDurationMs: 120_000, warningBeforeMs: 30_000 });
    expect(rules.schedule(1000)).toEqual({ warnAt: 91_000, endAt: 121_000 });
    expect(rules.takeWarning()).toBe(true);
    expect(rules.takeWarning()).toBe(false);
    expect(rules.takeEnd()).toBe(true);
    expect(rules.takeEnd()).toBe(false);
    expect(rules.isMachine("machine_end_beep")).toBe(true);
    expect(rules.isMachine("human")).toBe(false);
    expect(rules.isVoicemailGreeting("Hi, you've reached Sam. Please leave a message after the beep.")).toBe(true);
    expect(rules.isVoicemailGreeting("Sam’s not available right now")).toBe(true);
    expect(rules.isVoicemailGreeting("Hello? Who is this?")).toBe(false);
  });
});
