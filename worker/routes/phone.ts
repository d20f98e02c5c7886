/** /api/user/phone: verify the signed-in user's phone by a one-time SMS code (Twilio Verify). */
import { Hono } from "hono";
import {
  CheckPhoneVerificationRequest,
  CheckPhoneVerificationResponse,
  StartPhoneVerificationRequest,
  StartPhoneVerificationResponse,
} from "../../contracts/calls";
import { authOf, requireAuth } from "../middleware/auth";
import { describeRoute } from "../openapi";
import { checkPhoneVerification, startPhoneVerification } from "../services/phone-verification";
import type { AppEnv } from "../types";
import { validate } from "../validation";

describeRoute({ method: "post", path: "/api/user/phone/verify", tag: "user", summary: "Text a one-time code to the phone (optionally set a new number first)", auth: "required", body: StartPhoneVerificationRequest, responses: { 200: StartPhoneVerificationResponse }, errors: [400, 429] });
describeRoute({ method: "post", path: "/api/user/phone/verify/check", tag: "user", summary: "Check the code; the phone becomes verified", auth: "required", body: CheckPhoneVerificationRequest, responses: { 200: CheckPhoneVerificationResponse }, errors: [400, 429] });

export const phone = new Hono<AppEnv>()
  .use(requireAuth)
  .post("/verify", validate("json", StartPhoneVerificationRequest), async (c) => {
    const body = c.req.valid("json");
    return c.json(await startPhoneVerification(c.var.db, c.var.config, authOf(c).userId, body.phone), 200);
  })
  .post("/verify/check", validate("json", CheckPhoneVerificationRequest), async (c) => {
    return c.json(await checkPhoneVerification(c.var.db, c.var.config, authOf(c).userId, c.req.valid("json").code), 200);
  });
