/** The Hono application: mounts one sub-app per resource and the single error envelope. */
import { Hono } from "hono";

export const app = new Hono<{ Bindings: Env }>();
app.get("/health", (c) => c.json({ ok: true }));
