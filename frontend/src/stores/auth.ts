/**
 * Auth store: the signed-in user and their bearer token (kept in localStorage so a reload stays
 * signed in). Register / login / logout / me / profile go through the API client; the client's
 * 401 hook calls `clearSession()` so an expired or revoked token signs the user out everywhere.
 */
import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { AuthResponse, LoginInput, ProfileInput, RegisterInput, User } from "../api/types";
import { useApi } from "../composables/useApi";

/** localStorage key for the bearer token. */
export const TOKEN_KEY = "cmb.token";

function readToken(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

function writeToken(token: string | null): void {
  try {
    if (token) globalThis.localStorage?.setItem(TOKEN_KEY, token);
    else globalThis.localStorage?.removeItem(TOKEN_KEY);
  } catch {
    // Storage can be unavailable (private mode); the session then lasts for this tab only.
  }
}

export const useAuthStore = defineStore("auth", () => {
  const api = useApi();

  /** Bearer token of the current session, or null. */
  const token = ref<string | null>(readToken());
  /** The signed-in user, once loaded. */
  const user = ref<User | null>(null);
  /** True when a token is held (the user may still be loading). */
  const isAuthenticated = computed(() => token.value !== null);
  const isAdmin = computed(() => user.value?.role === "admin");

  function setSession(res: AuthResponse): void {
    token.value = res.token;
    user.value = res.user;
    writeToken(res.token);
  }

  /** Forgets the session locally (no API call). */
  function clearSession(): void {
    token.value = null;
    user.value = null;
    writeToken(null);
  }

  /** Creates an account and signs in. */
  async function register(input: RegisterInput): Promise<User> {
    const res = await api.post<AuthResponse>("/api/auth/register", input, { auth: false });
    setSession(res);
    return res.user;
  }

  /** Signs in with email and password. */
  async function login(input: LoginInput): Promise<User> {
    const res = await api.post<AuthResponse>("/api/auth/login", input, { auth: false });
    setSession(res);
    return res.user;
  }

  /** Revokes the session on the server (best effort) and forgets it locally. */
  async function logout(): Promise<void> {
    try {
      if (token.value) await api.post<{ ok: boolean }>("/api/auth/logout");
    } catch {
      // Already invalid or offline: the local session is cleared either way.
    } finally {
      clearSession();
    }
  }

  /** Loads the current user from the token. */
  async function fetchMe(): Promise<User> {
    const res = await api.get<{ user: User }>("/api/auth/me");
    user.value = res.user;
    return res.user;
  }

  let pending: Promise<User | null> | null = null;
  /** Makes sure `user` is loaded when a token is held; null when signed out or the token is dead. */
  function ensureUser(): Promise<User | null> {
    if (!token.value) return Promise.resolve(null);
    if (user.value) return Promise.resolve(user.value);
    pending ??= fetchMe()
      .catch(() => null)
      .finally(() => {
        pending = null;
      });
    return pending;
  }

  /** Adopts a session token issued by single sign-on (WorkOS callback); false when it does not work. */
  async function signInWithToken(newToken: string): Promise<boolean> {
    token.value = newToken;
    user.value = null;
    writeToken(newToken);
    try {
      await fetchMe();
      return true;
    } catch {
      clearSession();
      return false;
    }
  }

  /** Updates name / phone / time zone. */
  async function updateProfile(input: ProfileInput): Promise<User> {
    const res = await api.put<{ user: User }>("/api/user/profile", input);
    user.value = res.user;
    return res.user;
  }

  return { token, user, isAuthenticated, isAdmin, register, login, logout, signInWithToken, fetchMe, ensureUser, updateProfile, clearSession };
});
