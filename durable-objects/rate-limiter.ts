/** RateLimiter: placeholder (filled by the accounts work). */
import { DurableObject } from "cloudflare:workers";

export class RateLimiter extends DurableObject<Env> {}
