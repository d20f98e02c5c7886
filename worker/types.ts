/** Hono environment shared by the app and every sub-app: bindings plus per-request variables. */
import type { Db } from "./db/client";
import type { Config } from "./env";
import type { Logger } from "./log";

/** The authenticated caller, set by the auth middleware after the session was checked live. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  role: "user" | "admin";
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    config: Config;
    db: Db;
    /** null when the request carries no Authorization header. */
    auth: AuthContext | null;
  };
}
