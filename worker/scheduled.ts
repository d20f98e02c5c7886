/**
 * The Worker's `scheduled` handler: validates the bindings, then dispatches on the cron string.
 * "* * * * *" places due scheduled calls (claim → `placeCall`, the same path as "Call me now");
 * "0 2 * * *" runs the nightly cost reconciliation (services/reconciliation.ts). Unknown cron strings are logged and ignored. Jobs themselves live in services.
 */
import { CallMinutes } from "../contracts/calls";
import { createDb } from "./db/client";
import type { Db } from "./db/client";
import { parseEnv, type Config } from "./env";
import { log as rootLog, type Logger } from "./log";
import { placeCall } from "./services/calls";
import { reconcile } from "./services/reconciliation";
import { runDueSchedules, type ScheduledCallPlacer } from "./services/schedules";

export interface CronContext {
  env: Env;
  config: Config;
  db: Db;
  log: Logger;
  /** When the trigger was due (ms since epoch). */
  scheduledTime: number;
}

export type CronJob = (ctx: CronContext) => Promise<void>;

export const EVERY_MINUTE = "* * * * *";
export const NIGHTLY = "0 2 * * *";

/** Places claimed scheduled calls through `placeCall` (phone transport, linked to the schedule row). */
export function scheduledCallPlacer(ctx: Pick<CronContext, "env" | "config" | "db" | "log">): ScheduledCallPlacer {
  return async (s) => {
    const call = await placeCall(
      { db: ctx.db, config: ctx.config, callSessions: ctx.env.CALL_SESSION, log: ctx.log },
      {
        userId: s.userId,
        personaId: s.personaId,
        durationMinutes: CallMinutes.parse(s.durationMinutes),
        transport: "phone",
        scheduledCallId: s.id,
      },
    );
    return { callId: call.id };
  };
}

/** Cron string → job. */
export const CRON_JOBS: Record<string, CronJob | undefined> = {
  [EVERY_MINUTE]: async (ctx) => {
    // Claims happen at the wall clock (a late trigger still sees what is due now).
    await runDueSchedules({ db: ctx.db, place: scheduledCallPlacer(ctx), log: ctx.log });
  },
  [NIGHTLY]: async (ctx) => {
    const result = await reconcile({ db: ctx.db, config: ctx.config }, { now: new Date(ctx.scheduledTime) });
    ctx.log.info("cost reconciliation", { ...result });
  },
};

export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const config = parseEnv(env);
  const logger = rootLog.child({ cron: controller.cron });
  const job = CRON_JOBS[controller.cron];
  if (!job) {
    logger.warn("no job for cron trigger", { cron: controller.cron });
    return;
  }
  const run = job({ env, config, db: createDb(config), log: logger, scheduledTime: controller.scheduledTime }).catch((err: unknown) => {
    logger.error("cron job failed", { err });
    throw err;
  });
  ctx.waitUntil(run);
  await run;
}
