/**
 * The live call stream: `GET /api/calls/:id/events` (text/event-stream of `LiveEvent`s) read with
 * `fetch` so it can send `Authorization`. The first event of every connection is a `snapshot`
 * that replaces the state; later events are applied with `applyLiveEvent`. A dropped or failed
 * connection is retried with exponential backoff (0.5 s doubling to 10 s, reset by the next
 * snapshot) until the call has `ended`, the server refuses for good (401/403/404), or `stop()`.
 * `openLiveStream` is the framework-free core; `useLiveCall` wraps it in Vue refs.
 */
import { onBeforeUnmount, ref, shallowRef, watch } from "vue";
import type { Ref, ShallowRef } from "vue";
import { errorFromResponse, isApiError } from "../api/client";
import { describeError } from "../lib/errors";
import { applyLiveEvent, emptyLiveState, parseLiveEvent } from "../lib/live-call";
import type { LiveCallState } from "../lib/live-call";
import { readEventStream } from "../lib/sse";
import { useAuthStore } from "../stores/auth";
import { useApi } from "./useApi";

export type LiveConnection = "connecting" | "live" | "reconnecting" | "closed";

export interface LiveStreamOptions {
  getToken: () => string | null;
  fetch?: typeof fetch;
  onState: (state: LiveCallState) => void;
  onConnection?: (c: LiveConnection) => void;
  /** A fatal error (the stream won't be retried). */
  onError?: (err: unknown) => void;
  /** @default 500 */
  initialBackoffMs?: number;
  /** @default 10000 */
  maxBackoffMs?: number;
  /** Timer used for backoff waits (tests pass a fast one). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface LiveStream {
  stop(): void;
  /** Resolves when the stream has stopped for good. */
  done: Promise<void>;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

const FATAL = new Set([401, 403, 404]);

/** Opens the live stream of one call. */
export function openLiveStream(callId: string, options: LiveStreamOptions): LiveStream {
  const controller = new AbortController();
  const signal = controller.signal;
  const doFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  const sleep = options.sleep ?? defaultSleep;
  const initial = options.initialBackoffMs ?? 500;
  const max = options.maxBackoffMs ?? 10_000;
  let state = emptyLiveState();
  let lastEventId: string | null = null;

  async function run(): Promise<void> {
    let backoff = initial;
    let first = true;
    while (!signal.aborted) {
      options.onConnection?.(first ? "connecting" : "reconnecting");
      first = false;
      let serverRetry: number | null = null;
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const token = options.getToken();
        if (token) headers.Authorization = `Bearer ${token}`;
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        const res = await doFetch(`/api/calls/${encodeURIComponent(callId)}/events`, { headers, signal, cache: "no-store" });
        if (!res.ok) {
          const err = await errorFromResponse(res);
          if (FATAL.has(res.status)) {
            options.onError?.(err);
            break;
          }
          throw err;
        }
        if (!res.body) throw new Error("The live stream had no body.");
        await readEventStream(res.body, (m) => {
          if (m.id) lastEventId = m.id;
          if (m.retry !== null) serverRetry = m.retry;
          const event = parseLiveEvent(m.data);
          if (!event) return;
          if (event.type === "snapshot") {
            state = emptyLiveState();
            backoff = initial;
            options.onConnection?.("live");
          }
          state = applyLiveEvent(state, event);
          options.onState(state);
        });
      } catch (err) {
        if (signal.aborted) break;
        void err;
      }
      if (state.ended || signal.aborted) break;
      await sleep(serverRetry ?? backoff, signal);
      backoff = Math.min(max, backoff * 2);
    }
    options.onConnection?.("closed");
  }

  const done = run();
  return { stop: () => controller.abort(), done };
}

export interface UseLiveCall {
  state: ShallowRef<LiveCallState>;
  connection: Ref<LiveConnection>;
  error: Ref<string | null>;
  /** Reconnects from scratch (e.g. after a fatal error). */
  restart: () => void;
  stop: () => void;
}

/** Live state of the call `callId` (re-opened when the id changes, closed on unmount). */
export function useLiveCall(callId: Ref<string>): UseLiveCall {
  const auth = useAuthStore();
  const api = useApi();
  const state = shallowRef<LiveCallState>(emptyLiveState());
  const connection = ref<LiveConnection>("connecting");
  const error = ref<string | null>(null);
  let stream: LiveStream | null = null;

  function open(id: string): void {
    stream?.stop();
    state.value = emptyLiveState();
    error.value = null;
    if (!id) return;
    stream = openLiveStream(id, {
      getToken: () => auth.token,
      onState: (s) => (state.value = s),
      onConnection: (c) => (connection.value = c),
      onError: (err) => {
        error.value = describeError(err);
        // A dead session: let the API client's 401 hook sign out and return to the login page.
        if (isApiError(err, "unauthorized")) void api.get("/api/auth/me").catch(() => undefined);
      },
    });
  }

  watch(callId, open, { immediate: true });
  onBeforeUnmount(() => stream?.stop());

  return { state, connection, error, restart: () => open(callId.value), stop: () => stream?.stop() };
}
