/** The text/event-stream parser copes with any chunking of the stream. */
import { describe, expect, it } from "vitest";
import { readEventStream, SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split at arbitrary points, with CRLF, comments, ids, retry and multi-line data", () => {
    const stream = ': hello\r\nid: 7\r\nretry: 2500\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: ping\ndata: x\n\ndata: last\r\r';
    for (let size = 1; size <= stream.length; size++) {
      const p = new SseParser();
      const out = [];
      for (let i = 0; i < stream.length; i += size) out.push(...p.push(stream.slice(i, i + size)));
      expect(out).toEqual([
        { event: "message", data: '{"a":\n1}', id: "7", retry: 2500 },
        { event: "ping", data: "x", id: "7", retry: null },
        { event: "message", data: "last", id: "7", retry: null },
      ]);
    }
  });

  it("ignores an event with no data and an incomplete trailing event", async () => {
    const body = new Response("event: nothing\n\ndata: one\n\ndata: partial").body!;
    const got: string[] = [];
    await readEventStream(body, (m) => got.push(m.data));
    expect(got).toEqual(["one"]);
  });
});
