/** /api/calls/schedule: create, list, get, update and cancel the caller's scheduled calls. */
import { Hono } from "hono";
import { z } from "zod";
import {
  CreateScheduleRequest,
  ListSchedulesQuery,
  ScheduledCallListResponse,
  ScheduledCallResponse,
  UpdateScheduleRequest,
} from "../../contracts/schedules";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { cancelSchedule, createSchedule, getSchedule, listSchedules, updateSchedule } from "../services/schedules";
import type { AppEnv } from "../types";
import { validate } from "../validation";

const IdParam = z.object({ id: z.uuid() });

describeRoute({ method: "post", path: "/api/calls/schedule", tag: "schedules", summary: "Schedule a call (one-off or recurring, local time in an IANA zone)", auth: "required", body: CreateScheduleRequest, responses: { 201: ScheduledCallResponse }, errors: [400, 401, 404] });
describeRoute({ method: "get", path: "/api/calls/schedule", tag: "schedules", summary: "Your scheduled calls (upcoming, past or all)", auth: "required", query: ListSchedulesQuery, responses: { 200: ScheduledCallListResponse }, errors: [400, 401] });
describeRoute({ method: "get", path: "/api/calls/schedule/:id", tag: "schedules", summary: "One scheduled call", auth: "required", responses: { 200: ScheduledCallResponse }, errors: [401, 404] });
describeRoute({ method: "put", path: "/api/calls/schedule/:id", tag: "schedules", summary: "Change a pending scheduled call", auth: "required", body: UpdateScheduleRequest, responses: { 200: ScheduledCallResponse }, errors: [400, 401, 404, 409] });
describeRoute({ method: "delete", path: "/api/calls/schedule/:id", tag: "schedules", summary: "Cancel a pending scheduled call (ends a recurring series)", auth: "required", responses: { 200: ScheduledCallResponse }, errors: [401, 404, 409] });

export const schedules = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/", validate("json", CreateScheduleRequest), async (c) => {
    const schedule = await createSchedule(c.var.db, authOf(c).userId, c.req.valid("json"));
    return c.json({ schedule }, 201);
  })
  .get("/", validate("query", ListSchedulesQuery), async (c) => {
    const schedules = await listSchedules(c.var.db, authOf(c).userId, c.req.valid("query").view);
    return c.json({ schedules }, 200);
  })
  .get("/:id", validate("param", IdParam), async (c) => {
    return c.json({ schedule: await getSchedule(c.var.db, authOf(c).userId, c.req.valid("param").id) }, 200);
  })
  .put("/:id", validate("param", IdParam), validate("json", UpdateScheduleRequest), async (c) => {
    const schedule = await updateSchedule(c.var.db, authOf(c).userId, c.req.valid("param").id, c.req.valid("json"));
    return c.json({ schedule }, 200);
  })
  .delete("/:id", validate("param", IdParam), async (c) => {
    return c.json({ schedule: await cancelSchedule(c.var.db, authOf(c).userId, c.req.valid("param").id) }, 200);
  });
