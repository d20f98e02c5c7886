/** ElevenLabs multi-context adapter against a tiny in-test WebSocket server. */
import { afterEach, describe, expect, it } from "vitest";
import { encodeSpeech } from "../../sandbox/codec/speech-codec";
import { ElevenLabsSynthesizer } from "./elevenlabs";
import { connectNodeWebSocket } from "./node-websocket";
import { eventually, startWsServer, type TestWsServer } from "./test-servers";
import type { Alignment } from "./types";

let server: TestWsServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function audioMessage(contextId: string, text: string): string {
  const s = encodeSpeech(text, 20);
  return JSON.stringify({ audio: Buffer.from(s.audio).toString("base64"), normalizedAlignment: s.alignment, alignment: s.alignment, contextId });
}

describe("ElevenLabsSynthesizer", () => {
  it("speaks the multi-context protocol: init, text, flush, close_context; parses audio, alignment and isFinal", async () => {
    server = await startWsServer();
    const audio: Array<{ ctx: string; bytes: number; alignment: Alignment | null }> = [];
    const finals: string[] = [];
    const tts = new ElevenLabsSynthesizer({ apiKey: "xi-secret", voiceId: "voice123", baseUrl: server.url, connectWebSocket: connectNodeWebSocket });
    const session = await tts.connect({
      onAudio: (ctx, bytes, alignment) => audio.push({ ctx, bytes: bytes.length, alignment }),
      onFinal: (ctx) => finals.push(ctx),
    });
    const conn = await server.waitForConnections(1);
    const url = new URL(conn.url, "http://x");
    expect(url.pathname).toBe("/v1/text-to-speech/voice123/multi-stream-input");
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ model_id: "eleven_flash_v2_5", output_format: "ulaw_8000" });
    expect(conn.headers["xi-api-key"]).toBe("xi-secret");

    session.startContext("t1");
    session.sendText("t1", "Hello there.");
    session.flush("t1");
    session.closeContext("t1");
    await eventually(() => conn.text.length === 3);
    const msgs = conn.text.map((t) => JSON.parse(t) as Record<string, unknown>);
    expect(msgs[0]).toMatchObject({ text: " ", context_id: "t1", voice_settings: { stability: 0.5 } });
    expect(msgs[1]).toEqual({ text: "Hello there. ", context_id: "t1" });
    expect(msgs[2]).toEqual({ context_id: "t1", flush: true });

    // close_context waits until the audio of the flushed text is in (servers may drop the rest).
    conn.socket.send(audioMessage("t1", "Hello "));
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.text).toHaveLength(3);
    conn.socket.send(audioMessage("t1", "there. "));
    await eventually(() => conn.text.length === 4);
    expect(JSON.parse(conn.text[3]!)).toEqual({ context_id: "t1", close_context: true });
    conn.socket.send(JSON.stringify({ isFinal: true, contextId: "t1" }));
    await eventually(() => finals.length === 1);
    expect(audio.map((a) => [a.ctx, a.bytes, a.alignment?.chars.join("")])).toEqual([
      ["t1", 6 * 160, "Hello "],
      ["t1", 7 * 160, "there. "],
    ]);
    expect(finals).toEqual(["t1"]);
    await session.close();
    await eventually(() => conn.text.some((t) => t.includes("close_socket")));
  });

  it("cancels a context at once on barge-in", async () => {
    server = await startWsServer();
    const tts = new ElevenLabsSynthesizer({ apiKey: "k", voiceId: "v", baseUrl: server.url, connectWebSocket: connectNodeWebSocket });
    const session = await tts.connect({ onAudio: () => undefined, onFinal: () => undefined });
    const conn = await server.waitForConnections(1);
    session.startContext("t5");
    session.sendText("t5", "A long reply that will be cut.");
    session.flush("t5");
    session.cancelContext("t5");
    await eventually(() => conn.text.length === 4);
    expect(JSON.parse(conn.text[3]!)).toEqual({ context_id: "t5", close_context: true });
    await session.close();
  });

  it("keeps the socket alive for the open context", async () => {
    server = await startWsServer();
    const tts = new ElevenLabsSynthesizer({ apiKey: "k", voiceId: "v", baseUrl: server.url, connectWebSocket: connectNodeWebSocket, keepAliveMs: 50 });
    const session = await tts.connect({ onAudio: () => undefined, onFinal: () => undefined });
    const conn = await server.waitForConnections(1);
    session.startContext("t1");
    await eventually(() => conn.text.some((t) => t === JSON.stringify({ text: "", context_id: "t1" })));
    await session.close();
  });

  it("reconnects after a drop and re-synthesises the text whose audio never arrived", async () => {
    server = await startWsServer({
      onMessage: (c, data) => {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        // First connection: voice the first sentence, then drop before the rest.
        if (c === server!.connections[0] && msg.flush === true) {
          c.socket.send(audioMessage("t2", "One two. "));
          setTimeout(() => c.socket.close(1011, "internal"), 20);
        }
      },
    });
    const finals: string[] = [];
    const reconnecting: string[] = [];
    const tts = new ElevenLabsSynthesizer({ apiKey: "k", voiceId: "v", baseUrl: server.url, connectWebSocket: connectNodeWebSocket, reconnectBackoffMs: 10 });
    const session = await tts.connect({ onAudio: () => undefined, onFinal: (c) => finals.push(c), onReconnecting: (e) => reconnecting.push(e.provider) });
    await server.waitForConnections(1);
    session.startContext("t2");
    session.sendText("t2", "One two. Three four.");
    session.flush("t2");
    const second = await server.waitForConnections(2);
    await eventually(() => second.text.length >= 3);
    const msgs = second.text.map((t) => JSON.parse(t) as Record<string, unknown>);
    expect(msgs[0]).toMatchObject({ text: " ", context_id: "t2" });
    expect(msgs[1]).toEqual({ text: "Three four. ", context_id: "t2" });
    expect(msgs[2]).toEqual({ context_id: "t2", flush: true });
    expect(reconnecting).toEqual(["elevenlabs"]);
    await session.close();
  });
});
