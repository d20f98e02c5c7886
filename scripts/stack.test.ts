/**
 * The local platform as integrators use it: `startSandbox()` hands the Worker a complete set of
 * bindings pointing at live emulators, and `startStack()` (what `npm start` and the e2e tests run)
 * serves the product on a free port, keeps accounts and sessions across a restart with the same
 * data directory, and starts empty with `fresh`.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startSandbox } from "../sandbox/index";
import { startStack, type Stack } from "./stack";

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "stack-test-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The string bindings declared in the generated Env (worker-configuration.d.ts). */
async function envStringKeys(): Promise<string[]> {
  const text = await readFile(resolve(import.meta.dirname, "..", "worker-configuration.d.ts"), "utf8");
  const block = text.slice(text.indexOf("interface __BaseEnv_Env {"), text.indexOf("}", text.indexOf("interface __BaseEnv_Env {")));
  return [...block.matchAll(/^\s*([A-Z0-9_]+): string;$/gm)].map((m) => m[1] as string);
}

describe("startSandbox", () => {
  it("fills every string binding of the Worker's Env and every emulator answers", async () => {
    const sandbox = await startSandbox({ publicBaseUrl: "http://127.0.0.1:8787/" });
    try {
      const env = sandbox.workerEnv;
      const keys = await envStringKeys();
      expect(keys.length).toBeGreaterThan(20);
      for (const key of keys) expect(env[key], key).toEqual(expect.any(String));
      expect(env.APP_ENV).toBe("local");
      expect(env.PUBLIC_BASE_URL).toBe("http://127.0.0.1:8787");
      expect(env.TWILIO_ACCOUNT_SID).toMatch(/^AC[0-9a-f]{32}$/);
      expect(env.TWILIO_VERIFY_SERVICE_SID).toMatch(/^VA[0-9a-f]{32}$/);
      expect(env.JWT_SECRET?.length).toBeGreaterThanOrEqual(32);
      expect(env.DEEPGRAM_BASE_URL).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(env.CEREBRAS_BASE_URL).toMatch(/\/v1$/);

      for (const [name, url] of Object.entries(sandbox.urls)) {
        if (name === "pgFetchEndpoint" || name === "twilioPhone") continue;
        const res = await fetch(`${url}/__sandbox/knobs`);
        expect(res.status, name).toBe(200);
      }
      // the bindings work as-is: the LLM emulator accepts the sandbox key and serves the configured model
      const models = await fetch(`${env.CEREBRAS_BASE_URL}/models/${env.LLM_MODEL}`, {
        headers: { authorization: `Bearer ${env.CEREBRAS_API_KEY}` },
      });
      expect(models.status).toBe(200);
    } finally {
      await sandbox.close();
    }
  });

  it("keeps the JWT secret across restarts only when a dataDir is given", async () => {
    const dataDir = await tempDir();
    const a = await startSandbox({ publicBaseUrl: "http://127.0.0.1:1", dataDir });
    const secretA = a.workerEnv.JWT_SECRET;
    await a.close();
    const b = await startSandbox({ publicBaseUrl: "http://127.0.0.1:1", dataDir });
    expect(b.workerEnv.JWT_SECRET).toBe(secretA);
    await b.close();
    const c = await startSandbox({ publicBaseUrl: "http://127.0.0.1:1" });
    expect(c.workerEnv.JWT_SECRET).not.toBe(secretA);
    await c.close();
  });
});

describe("startStack", () => {
  interface AuthBody {
    token: string;
    user: { id: string; email: string };
  }
  async function post(stack: Stack, path: string, body: unknown): Promise<{ status: number; body: AuthBody }> {
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as AuthBody };
  }

  it("serves the product, and accounts and sessions survive a restart with the same dataDir", { timeout: 300_000 }, async () => {
    const dataDir = await tempDir();
    const account = { email: "restart@example.com", password: "restart pass 123", name: "Restart Test" };

    let stack = await startStack({ dataDir });
    let token: string;
    try {
      expect(stack.port).toBeGreaterThan(0);
      const health = await fetch(`${stack.baseUrl}/health`);
      expect(health.status).toBe(200);
      const spa = await fetch(`${stack.baseUrl}/`);
      expect(spa.status).toBe(200);
      expect(await spa.text()).toMatch(/<html/i);
      // the seeded demo account logs in
      expect((await post(stack, "/api/auth/login", { email: "demo@callmeback.ai", password: "demo-pass-123" })).status).toBe(200);
      const reg = await post(stack, "/api/auth/register", account);
      expect(reg.status).toBe(201);
      token = reg.body.token;
    } finally {
      await stack.close();
    }
    // closed means closed
    await expect(fetch(`${stack.baseUrl}/health`)).rejects.toThrow();

    stack = await startStack({ dataDir });
    try {
      const login = await post(stack, "/api/auth/login", { email: account.email, password: account.password });
      expect(login.status).toBe(200);
      const me = await fetch(`${stack.baseUrl}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200);
    } finally {
      await stack.close();
    }

    stack = await startStack({ dataDir, fresh: true });
    try {
      const login = await post(stack, "/api/auth/login", { email: account.email, password: account.password });
      expect(login.status).toBe(401);
    } finally {
      await stack.close();
    }
  });

  it("runs the same Worker in Miniflare (runtime: miniflare): API, SPA assets, Durable Object state, /__scheduled", { timeout: 300_000 }, async () => {
    const dataDir = await tempDir();
    const account = { email: "miniflare@example.com", password: "miniflare pass 123", name: "Miniflare Test" };
    let stack = await startStack({ dataDir, runtime: "miniflare" });
    try {
      expect(stack.runtime).toBe("miniflare");
      expect((await fetch(`${stack.baseUrl}/health`)).status).toBe(200);
      const spa = await fetch(`${stack.baseUrl}/some/spa/route`);
      expect(spa.status).toBe(200);
      expect(spa.headers.get("content-type")).toMatch(/text\/html/);
      expect((await post(stack, "/api/auth/login", { email: "demo@callmeback.ai", password: "demo-pass-123" })).status).toBe(200);
      expect((await post(stack, "/api/auth/register", account)).status).toBe(201);
      const cron = await fetch(`${stack.baseUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
      expect(cron.status).toBe(200);
    } finally {
      await stack.close();
    }
    await expect(fetch(`${stack.baseUrl}/health`)).rejects.toThrow();
    stack = await startStack({ dataDir, runtime: "miniflare" });
    try {
      expect((await post(stack, "/api/auth/login", { email: account.email, password: account.password })).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
