/** Auth store flows against a mocked API: register, login, logout, session restore, revoked token. */
import { createPinia, setActivePinia } from "pinia";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { jsonResponse, makeUser, mockFetch } from "../test-utils";
import type { RecordedCall } from "../test-utils";
import { TOKEN_KEY, useAuthStore } from "./auth";

const PASSWORD = "p@ss w0rd!#$%^&*()\"'\\";

function useFakeApi(handler: (call: RecordedCall) => Response): RecordedCall[] {
  const { fetch, calls } = mockFetch(handler);
  vi.stubGlobal("fetch", fetch);
  return calls;
}

describe("auth store", () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    const auth = useAuthStore();
    api.configure({ getToken: () => auth.token, onUnauthorized: () => auth.clearSession() });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("register stores the token and user, sending the password byte-for-byte", async () => {
    const calls = useFakeApi(() => jsonResponse({ token: "t-reg", user: makeUser() }, 201));
    const auth = useAuthStore();
    await auth.register({ email: "ada@example.com", password: PASSWORD, name: "Ada Lovelace" });
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/auth/register" });
    expect((calls[0]?.body as { password: string }).password).toBe(PASSWORD);
    expect(calls[0]?.headers.authorization).toBeUndefined();
    expect(auth.isAuthenticated).toBe(true);
    expect(auth.user?.name).toBe("Ada Lovelace");
    expect(localStorage.getItem(TOKEN_KEY)).toBe("t-reg");
  });

  it("a failed login leaves the user signed out with the API's error", async () => {
    useFakeApi(() => jsonResponse({ error: { code: "unauthorized", message: "Invalid email or password" } }, 401));
    const auth = useAuthStore();
    await expect(auth.login({ email: "ada@example.com", password: "wrong-password" })).rejects.toMatchObject({ code: "unauthorized" });
    expect(auth.isAuthenticated).toBe(false);
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("logout revokes the session on the server and forgets it locally", async () => {
    const calls = useFakeApi((call) => (call.url === "/api/auth/login" ? jsonResponse({ token: "t-login", user: makeUser() }) : jsonResponse({ ok: true })));
    const auth = useAuthStore();
    await auth.login({ email: "ada@example.com", password: PASSWORD });
    await auth.logout();
    expect(calls[1]).toMatchObject({ method: "POST", url: "/api/auth/logout" });
    expect(calls[1]?.headers.authorization).toBe("Bearer t-login");
    expect(auth.isAuthenticated).toBe(false);
    expect(auth.user).toBeNull();
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("restores the session from localStorage and loads the user once", async () => {
    localStorage.setItem(TOKEN_KEY, "t-saved");
    setActivePinia(createPinia());
    const auth = useAuthStore();
    api.configure({ getToken: () => auth.token, onUnauthorized: () => auth.clearSession() });
    const calls = useFakeApi(() => jsonResponse({ user: makeUser({ name: "Saved Sam" }) }));
    const [a, b] = await Promise.all([auth.ensureUser(), auth.ensureUser()]);
    expect(a?.name).toBe("Saved Sam");
    expect(b?.name).toBe("Saved Sam");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.headers.authorization).toBe("Bearer t-saved");
  });

  it("a revoked token signs the user out when /me answers 401", async () => {
    localStorage.setItem(TOKEN_KEY, "t-revoked");
    setActivePinia(createPinia());
    const auth = useAuthStore();
    api.configure({ getToken: () => auth.token, onUnauthorized: () => auth.clearSession() });
    useFakeApi(() => jsonResponse({ error: { code: "unauthorized", message: "Session revoked" } }, 401));
    expect(await auth.ensureUser()).toBeNull();
    expect(auth.isAuthenticated).toBe(false);
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("updateProfile sends the change and replaces the user", async () => {
    const calls = useFakeApi((call) =>
      call.url === "/api/auth/login"
        ? jsonResponse({ token: "t", user: makeUser() })
        : jsonResponse({ user: makeUser({ phone: "+14155550100", timezone: "America/New_York" }) }),
    );
    const auth = useAuthStore();
    await auth.login({ email: "ada@example.com", password: PASSWORD });
    await auth.updateProfile({ phone: "+14155550100", timezone: "America/New_York" });
    expect(calls[1]).toMatchObject({ method: "PUT", url: "/api/user/profile", body: { phone: "+14155550100", timezone: "America/New_York" } });
    expect(auth.user?.phone).toBe("+14155550100");
  });
});
