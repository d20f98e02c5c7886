/** Calls store: the browser call socket URL from a ticket, and the keyless settings fallback. */
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { jsonResponse, mockFetch } from "../test-utils";
import { browserSocketUrl, useCallsStore } from "./calls";

describe("browserSocketUrl", () => {
  it("uses the server's socket URL as a WebSocket URL, never with the ticket in it", () => {
    expect(browserSocketUrl("c1", { url: "http://127.0.0.1:8787/api/calls/c1/browser" }, "http://127.0.0.1:8787")).toBe("ws://127.0.0.1:8787/api/calls/c1/browser");
    expect(browserSocketUrl("c1", { url: "wss://app.example.com/api/calls/c1/browser?ticket=t" }, "https://app.example.com")).toBe("wss://app.example.com/api/calls/c1/browser");
  });

  it("defaults to the calls route on this origin", () => {
    expect(browserSocketUrl("c 1", {}, "https://app.example.com")).toBe("wss://app.example.com/api/calls/c%201/browser");
  });
});

describe("calls store", () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.unstubAllGlobals());

  it("asks for a single-use browser ticket; the client config is cached once read and null while the API can't say", async () => {
    let configUp = false;
    const { fetch, calls } = mockFetch((c) => {
      if (c.url.endsWith("/ticket")) return jsonResponse({ ticket: "tk", url: "ws://x/api/calls/c1/browser", expiresAt: "2026-11-22T05:00:00.000Z" });
      if (configUp) return jsonResponse({ sandbox: { phonePageUrl: "http://127.0.0.1:8791/phone" } });
      return jsonResponse({ error: { code: "internal", message: "x" } }, 500);
    });
    vi.stubGlobal("fetch", fetch);
    const store = useCallsStore();
    expect(await store.browserTicket("c1")).toMatchObject({ ticket: "tk" });
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/calls/c1/ticket", body: { purpose: "browser" } });
    expect(await store.clientConfig()).toEqual({ sandbox: null });
    configUp = true;
    expect(await store.clientConfig()).toEqual({ sandbox: { phonePageUrl: "http://127.0.0.1:8791/phone" } });
    await store.clientConfig();
    expect(calls.filter((c) => c.url === "/api/client-config")).toHaveLength(2);
  });
});
