/** Gives components and stores the app's configured API client (one instance, see api/client.ts). */
import { api } from "../api/client";
import type { ApiClient } from "../api/client";

/** The app-wide API client. */
export function useApi(): ApiClient {
  return api;
}
