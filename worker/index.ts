/** Worker entry: HTTP (Hono app), Cron Triggers, and the Durable Object classes it exports. */
import { app } from "./app";
import { scheduled } from "./scheduled";

export { CallSession } from "../durable-objects/call-session";
export { RateLimiter } from "../durable-objects/rate-limiter";

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;
