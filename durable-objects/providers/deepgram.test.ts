/** Deepgram adapter against a tiny in-test WebSocket server: URL/auth, audio, results, control, drop + reconnect. */
import { afterEach, describe, expect, it } from "vitest";
import { DeepgramTranscriber } from "./deepgram";
import { connectNodeWebSocket } from "./node-websocket";
import { eventually, startWsServer, type TestWsServer } from "./test-servers";
import type { ProviderError, TranscriptResult } from "./types";

let server: TestWsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function results(transcript: string, extra: Record<string, unknown>): string {
  return JSON.stringify({
    type: "Results",
    channel_index: [0, 1],
    start: 1.02,
    duration: 0.98,
    is_final: false,
    speech_final: false,
    from_finalize: false,
    channel: { alternatives: [{ transcript, confidence: 0.97, words: transcript.split(" ").map((w) => ({ word: w })) }] },
    ...extra,
  });
}

describe("DeepgramTranscriber", () => {
  it("connects with the Twilio audio query and Token auth, streams audio and parses results", async () => {
    server = await startWsServer();
    const got: TranscriptResult[] = [];
    const utteranceEnds: number[] = [];
    const speechStarts: number[] = [];
    const stt = new DeepgramTranscriber({ apiKey: "dg-secret", baseUrl: server.url, connectWebSocket: connectNodeWebSocket });
    const session = await stt.connect({
      handlers: {
        onTranscript: (r) => got.push(r),
        onUtteranceEnd: (ms) => utteranceEnds.push(ms),
        onSpeechStarted: (ms) => speechStarts.push(ms),
      },
    });
    const conn = await server.waitForConnections(1);
    const url = new URL(conn.url, "http://x");
    expect(url.pathname).toBe("/v1/listen");
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      model: "nova-3",
      encoding: "mulaw",
      sample_rate: "8000",
      channels: "1",
      interim_results: "true",
      endpointing: "300",
      utterance_end_ms: "1000",
      vad_events: "true",
    });
    expect(conn.headers.authorization).toBe("Token dg-secret");

    const audio = new Uint8Array(320).map((_, i) => i & 0xff);
    session.sendAudio(audio.subarray(0, 160));
    session.sendAudio(audio.subarray(160));
    session.finalize();
    // 40 ms is less than one 100 ms batch: Finalize flushes it first, as one message.
    await eventually(() => conn.binary.length === 1 && conn.text.length === 1);
    expect(Buffer.concat(conn.binary)).toEqual(Buffer.from(audio));
    expect(JSON.parse(conn.text[0]!)).toEqual({ type: "Finalize" });
    expect(session.audioMsSent).toBe(40);

    conn.socket.send(JSON.stringify({ type: "SpeechStarted", channel: [0], timestamp: 0.52 }));
    conn.socket.send(results("call me", {}));
    conn.socket.send(results("call me back tomorrow", { is_final: true, speech_final: true, from_finalize: true }));
    conn.socket.send(JSON.stringify({ type: "UtteranceEnd", channel: [0, 1], last_word_end: 2.0 }));
    conn.socket.send(JSON.stringify({ type: "Metadata", request_id: "r", duration: 1.2, channels: 1 }));
    await eventually(() => utteranceEnds.length === 1);
    expect(speechStarts).toEqual([520]);
    expect(got).toEqual([
      expect.objectContaining({ transcript: "call me", isFinal: false, speechFinal: false, wordCount: 2 }),
      expect.objectContaining({ transcript: "call me back tomorrow", isFinal: true, speechFinal: true, fromFinalize: true, wordCount: 4, startMs: 1020, durationMs: 980 }),
    ]);
    expect(utteranceEnds).toEqual([2000]);

    await session.close();
    await eventually(() => conn.text.some((t) => t.includes("CloseStream")));
  });

  it("sends KeepAlive when no audio flows", async () => {
    server = await startWsServer();
    const stt = new DeepgramTranscriber({ apiKey: "k", baseUrl: server.url, connectWebSocket: connectNodeWebSocket, keepAliveMs: 60 });
    const session = await stt.connect({ handlers: { onTranscript: () => undefined } });
    const conn = await server.waitForConnections(1);
    await eventually(() => conn.text.filter((t) => t.includes("KeepAlive")).length >= 2);
    await session.close();
  });

  it("reconnects after a drop and replays the audio sent meanwhile: no caller audio lost", async () => {
    let dropped = false;
    server = await startWsServer({
      onMessage: (c, _data, isBinary) => {
        // Deepgram-style NET-0001 close once 10 frames arrived on the first connection.
        if (isBinary && !dropped && c.binary.length === 10) {
          dropped = true;
          c.socket.close(1011, "NET-0001");
        }
      },
    });
    const events: string[] = [];
    const stt = new DeepgramTranscriber({
      apiKey: "k",
      baseUrl: server.url,
      connectWebSocket: connectNodeWebSocket,
      reconnectBackoffMs: 20,
      batchMs: 0,
    });
    const session = await stt.connect({
      handlers: {
        onTranscript: () => undefined,
        onReconnecting: (e: ProviderError) => events.push(`reconnecting:${e.retryable}`),
        onReconnected: () => events.push("reconnected"),
      },
    });
    const sent: number[] = [];
    for (let i = 0; i < 40; i++) {
      const frame = new Uint8Array(160).fill(i);
      sent.push(i);
      session.sendAudio(frame);
      await new Promise((r) => setTimeout(r, 10));
    }
    await server.waitForConnections(2);
    await eventually(() => server!.connections.reduce((n, c) => n + c.binary.length, 0) >= 40);
    // Nothing was finalised on the first connection, so the second gets everything it had
    // plus the gap: every frame arrives, in order, on the surviving connection.
    const first = server.connections[0]!.binary.map((b) => b[0]);
    const second = server.connections[1]!.binary.map((b) => b[0]);
    expect(second).toEqual(sent);
    expect(first).toEqual(sent.slice(0, first.length));
    expect(events).toEqual(["reconnecting:true", "reconnected"]);
    expect(server.connections[1]!.headers.authorization).toBe("Token k");
    await session.close();
  });

  it("after a drop, replays only the audio no final result covered", async () => {
    let dropped = false;
    server = await startWsServer({
      onMessage: (c, _data, isBinary) => {
        if (!isBinary || dropped) return;
        if (c.binary.length === 10) {
          // Frames 0–5 (6 × 20 ms = 0.12 s) are finalised, then the connection dies.
          c.socket.send(results("hello", { is_final: true, start: 0, duration: 0.12 }));
          setTimeout(() => {
            dropped = true;
            c.socket.close(1011, "NET-0001");
          }, 5);
        }
      },
    });
    const stt = new DeepgramTranscriber({ apiKey: "k", baseUrl: server.url, connectWebSocket: connectNodeWebSocket, reconnectBackoffMs: 10, batchMs: 0 });
    const session = await stt.connect({ handlers: { onTranscript: () => undefined } });
    for (let i = 0; i < 30; i++) {
      session.sendAudio(new Uint8Array(160).fill(i));
      await new Promise((r) => setTimeout(r, 10));
    }
    await server.waitForConnections(2);
    await eventually(() => (server!.connections[1]?.binary.length ?? 0) >= 24);
    const second = server.connections[1]!.binary.map((b) => b[0]);
    expect(second).toEqual(Array.from({ length: 24 }, (_, i) => i + 6));
    await session.close();
  });

  it("batches frames into 100 ms messages; finalize after 60 ms sends those 60 ms first, then Finalize", async () => {
    const order: string[] = [];
    server = await startWsServer({ onMessage: (_c, data, isBinary) => order.push(isBinary ? `audio:${data.length}` : String(JSON.parse(data.toString()).type)) });
    const stt = new DeepgramTranscriber({ apiKey: "k", baseUrl: server.url, connectWebSocket: connectNodeWebSocket });
    const session = await stt.connect({ handlers: { onTranscript: () => undefined } });
    const conn = await server.waitForConnections(1);
    const frames = Array.from({ length: 8 }, (_, i) => new Uint8Array(160).fill(i));
    for (const f of frames.slice(0, 5)) session.sendAudio(f);
    await eventually(() => order.length === 1);
    expect(order).toEqual(["audio:800"]);
    expect(session.audioMsSent).toBe(100);
    for (const f of frames.slice(5)) session.sendAudio(f);
    expect(session.audioMsSent).toBe(100);
    session.finalize();
    await eventually(() => order.length === 3);
    expect(order).toEqual(["audio:800", "audio:480", "Finalize"]);
    expect(session.audioMsSent).toBe(160);
    expect(Buffer.concat(conn.binary)).toEqual(Buffer.concat(frames));
    // A batch in progress goes out before CloseStream, and counts.
    session.sendAudio(new Uint8Array(160).fill(9));
    await session.close();
    await eventually(() => order.length === 5);
    expect(order.slice(3)).toEqual(["audio:160", "CloseStream"]);
    expect(session.audioMsSent).toBe(180);
  });

  it("flushes a partial batch when the KeepAlive timer is due instead of holding it", async () => {
    server = await startWsServer();
    const stt = new DeepgramTranscriber({ apiKey: "k", baseUrl: server.url, connectWebSocket: connectNodeWebSocket, keepAliveMs: 60 });
    const session = await stt.connect({ handlers: { onTranscript: () => undefined } });
    const conn = await server.waitForConnections(1);
    session.sendAudio(new Uint8Array(320).fill(1));
    await eventually(() => conn.binary.length === 1);
    expect(conn.binary[0]!.length).toBe(320);
    await session.close();
  });

  it("with batching, a drop replays exactly the audio after the last final (a batch is cut at the final's end)", async () => {
    let dropped = false;
    let finalSent = false;
    server = await startWsServer({
      onMessage: (c, _data, isBinary) => {
        if (!isBinary || dropped || finalSent) return;
        if (c.binary.length === 2) {
          // 1,600 bytes arrived; the first 120 ms (960 bytes, mid-batch) are finalised, then the connection dies.
          finalSent = true;
          c.socket.send(results("hello", { is_final: true, start: 0, duration: 0.12 }));
          setTimeout(() => {
            dropped = true;
            c.socket.close(1011, "NET-0001");
          }, 5);
        }
      },
    });
    const stt = new DeepgramTranscriber({ apiKey: "k", baseUrl: server.url, connectWebSocket: connectNodeWebSocket, reconnectBackoffMs: 10 });
    const session = await stt.connect({ handlers: { onTranscript: () => undefined } });
    for (let i = 0; i < 30; i++) {
      session.sendAudio(new Uint8Array(160).fill(i));
      await new Promise((r) => setTimeout(r, 10));
    }
    session.finalize();
    await server.waitForConnections(2);
    await eventually(() => Buffer.concat(server!.connections[1]?.binary ?? []).length >= 24 * 160);
    const second = [...Buffer.concat(server.connections[1]!.binary)].filter((_, i) => i % 160 === 0);
    expect(second).toEqual(Array.from({ length: 24 }, (_, i) => i + 6));
    await session.close();
  });

  it("rejects with a non-retryable ProviderError when the key is refused", async () => {
    server = await startWsServer({ reject: () => 401 });
    const stt = new DeepgramTranscriber({ apiKey: "bad", baseUrl: server.url, connectWebSocket: connectNodeWebSocket });
    await expect(stt.connect({ handlers: { onTranscript: () => undefined } })).rejects.toMatchObject({
      name: "ProviderError",
      provider: "deepgram",
      status: 401,
      retryable: false,
    });
  });
});
