/**
 * The SPA's one HTTP client for the Worker's JSON API (relative /api URLs, same origin).
 * It attaches `Authorization: Bearer <token>`, turns every non-2xx answer (and network failures)
 * into a typed `ApiError` parsed from the `{ error: { code, message, details } }` envelope, and
 * when a request that carried a token comes back 401 it calls the `onUnauthorized` hook (the app
 * wires that to "log out locally and go to the login page"). It holds no auth state itself.
 */
import { ERROR_CODES } from "../../../contracts";
import type { ApiErrorCode } from "./types";

/** Client-side codes for failures that never reached (or never came back from) the API. */
export type ClientErrorCode = "network_error" | "bad_response";

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  422: "validation_failed",
  429: "rate_limited",
};

/** A failed API call: HTTP status (0 when the network failed), envelope code, message, details. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | ClientErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds from the `Retry-After` header, when the API sent one. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }

  /** Per-field messages from a `validation_failed` error, keyed by dotted field path. */
  fieldErrors(): Record<string, string> {
    return extractFieldErrors(this.details);
  }
}

/** True for an `ApiError`, optionally with the given code. */
export function isApiError(err: unknown, code?: ApiError["code"]): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pathKey(path: unknown): string | null {
  if (typeof path === "string") return path;
  if (Array.isArray(path)) return path.map((p) => String(p)).join(".");
  return null;
}

/**
 * Reads field errors from the shapes a zod-based API reports: an array of issues
 * (`[{ path, message }]`), `{ issues: [...] }`, or zod's flatten() `{ fieldErrors: { f: [msg] } }`.
 */
export function extractFieldErrors(details: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(details)) {
    for (const issue of details) {
      if (!isRecord(issue) || typeof issue.message !== "string") continue;
      const key = pathKey(issue.path) ?? pathKey(issue.field);
      if (key !== null && !(key in out)) out[key] = issue.message;
    }
    return out;
  }
  if (!isRecord(details)) return out;
  if (Array.isArray(details.issues)) return extractFieldErrors(details.issues);
  if (isRecord(details.fieldErrors)) {
    for (const [key, value] of Object.entries(details.fieldErrors)) {
      const first = Array.isArray(value) ? value[0] : value;
      if (typeof first === "string") out[key] = first;
    }
  }
  return out;
}

function parseEnvelope(body: unknown): { code: string; message: string; details?: unknown } | null {
  if (!isRecord(body) || !isRecord(body.error)) return null;
  const { code, message, details } = body.error;
  if (typeof code !== "string" || typeof message !== "string") return null;
  return { code, message, details };
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Builds the `ApiError` for a non-2xx response (envelope if present, status-derived otherwise). */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const retryAfterS = parseRetryAfter(res.headers.get("Retry-After"));
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const envelope = parseEnvelope(body);
  const fallbackCode: ApiErrorCode = STATUS_CODES[res.status] ?? (res.status >= 500 ? "internal" : "bad_request");
  if (envelope) {
    const code = KNOWN_CODES.has(envelope.code) ? (envelope.code as ApiErrorCode) : fallbackCode;
    return new ApiError(res.status, code, envelope.message, envelope.details, retryAfterS);
  }
  const message = res.status >= 500 ? "The server had a problem. Please try again." : `Request failed (${res.status}).`;
  return new ApiError(res.status, fallbackCode, message, undefined, retryAfterS);
}

export interface RequestOptions {
  /** Send the bearer token (default true). Login/register pass false. */
  auth?: boolean;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

export interface ApiClientHooks {
  /** Current bearer token, or null when signed out. */
  getToken: () => string | null;
  /** Called once per 401 answer to a request that carried a token. */
  onUnauthorized: () => void;
}

export interface ApiClient {
  request<T>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  get<T>(path: string, options?: RequestOptions): Promise<T>;
  post<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  put<T>(path: string, body?: unknown, options?: RequestOptions): Promise<T>;
  del<T>(path: string, options?: RequestOptions): Promise<T>;
  /** Replaces the auth hooks (the app sets them once at start-up). */
  configure(hooks: Partial<ApiClientHooks>): void;
}

export interface ApiClientOptions extends Partial<ApiClientHooks> {
  /** Prefix for every path; empty = same origin. @default "" */
  baseUrl?: string;
  /** fetch implementation; defaults to the global one at call time. */
  fetch?: typeof fetch;
}

/** Creates an API client. */
export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const hooks: ApiClientHooks = {
    getToken: options.getToken ?? (() => null),
    onUnauthorized: options.onUnauthorized ?? (() => undefined),
  };
  const baseUrl = options.baseUrl ?? "";

  async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    let url = baseUrl + path;
    if (opts.query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(opts.query)) {
        if (value !== undefined) params.set(key, String(value));
      }
      const qs = params.toString();
      if (qs) url += (url.includes("?") ? "&" : "?") + qs;
    }
    const headers: Record<string, string> = { Accept: "application/json" };
    const token = opts.auth === false ? null : hooks.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";

    const doFetch = options.fetch ?? globalThis.fetch;
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", "Can't reach Call Me Back. Check your connection and try again.");
    }

    if (!res.ok) {
      const error = await errorFromResponse(res);
      if (res.status === 401 && token) hooks.onUnauthorized();
      throw error;
    }
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(res.status, "bad_response", "The server sent an unreadable response.");
    }
  }

  return {
    request,
    get: (path, opts) => request("GET", path, undefined, opts),
    post: (path, body, opts) => request("POST", path, body ?? {}, opts),
    put: (path, body, opts) => request("PUT", path, body ?? {}, opts),
    del: (path, opts) => request("DELETE", path, undefined, opts),
    configure(next) {
      if (next.getToken) hooks.getToken = next.getToken;
      if (next.onUnauthorized) hooks.onUnauthorized = next.onUnauthorized;
    },
  };
}

/** The app-wide client; `main.ts` configures its auth hooks. */
export const api: ApiClient = createApiClient();
