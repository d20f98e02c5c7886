/**
 * Calls store: placing a call ("Call me now", phone or browser), reading one call with its
 * turns, ending it, minting the single-use ticket that opens a browser call's media socket,
 * and the keyless sandbox settings (where the sandbox phone page lives). The live view itself
 * streams from `useLiveCall`; this store keeps the last known state of each call by id.
 */
import { defineStore } from "pinia";
import { ref } from "vue";
import type { Call, CallMinutes, CallTurn } from "../../../contracts/calls";
import { useApi } from "../composables/useApi";

export interface PlaceCallInput {
  personaId: string;
  durationMinutes: CallMinutes;
  transport: "phone" | "browser";
}

/**
 * A browser call's media socket (`POST /api/calls/:id/ticket`): the single-use, short-lived ticket
 * the socket sends in its `start` message (`customParameters.token`), and where it connects.
 */
export interface BrowserSocketTicket {
  ticket: string;
  /** The socket URL (no secret in it); defaults to the calls route on this origin. */
  url?: string;
  expiresAt?: string;
}

/** Keyless settings the Worker exposes (`GET /api/client-config`). */
export interface ClientConfig {
  /** Set when the app runs on the local vendor emulators. */
  sandbox: { phonePageUrl: string } | null;
}

/**
 * The browser-call socket URL for a call, as ws(s). It never carries the ticket (a secret in a URL
 * ends up in logs): the ticket goes in the socket's `start` message instead.
 */
export function browserSocketUrl(callId: string, t: Pick<BrowserSocketTicket, "url">, origin: string): string {
  const base = t.url ?? `/api/calls/${encodeURIComponent(callId)}/browser`;
  const url = new URL(base, origin);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.searchParams.delete("ticket");
  return url.toString();
}

export const useCallsStore = defineStore("calls", () => {
  const api = useApi();

  /** Calls seen so far, by id. */
  const byId = ref<Record<string, Call>>({});
  const config = ref<ClientConfig | null>(null);

  function remember(call: Call): Call {
    byId.value[call.id] = call;
    return call;
  }

  /** Places a call (`POST /api/calls`): dials the verified phone, or opens a browser call. */
  async function place(input: PlaceCallInput): Promise<Call> {
    const res = await api.post<{ call: Call }>("/api/calls", input);
    return remember(res.call);
  }

  /** One call with its finished turns. */
  async function get(id: string): Promise<{ call: Call; turns: CallTurn[] }> {
    const res = await api.get<{ call: Call; turns: CallTurn[] }>(`/api/calls/${encodeURIComponent(id)}`);
    remember(res.call);
    return res;
  }

  /** Ends a call (hangs up the phone / closes the browser call). */
  async function end(id: string): Promise<void> {
    const res = await api.post<{ call?: Call } | undefined>(`/api/calls/${encodeURIComponent(id)}/end`);
    if (res?.call) remember(res.call);
  }

  /** A short-lived single-use ticket for the browser call's media socket. */
  async function browserTicket(id: string): Promise<BrowserSocketTicket> {
    return api.post<BrowserSocketTicket>(`/api/calls/${encodeURIComponent(id)}/ticket`, { purpose: "browser" });
  }

  /** Keyless settings (cached once read); `{ sandbox: null }` while the API can't say. */
  async function clientConfig(): Promise<ClientConfig> {
    if (config.value) return config.value;
    try {
      config.value = await api.get<ClientConfig>("/api/client-config", { auth: false });
      return config.value;
    } catch {
      return { sandbox: null };
    }
  }

  return { byId, config, remember, place, get, end, browserTicket, clientConfig };
});
