/** CallSession: one Durable Object per call (placeholder until the call loop lands). */
import { DurableObject } from "cloudflare:workers";

export class CallSession extends DurableObject<Env> {}
