/**
 * `GET /api/client-config`: public settings the SPA needs before sign-in. `sandbox` is set when
 * the Worker talks to the local vendor emulators (keyless `npm start`), so the SPA can link to the
 * Twilio emulator's sandbox phone page (it plays the callee and shows SMS codes); null with the
 * real vendors.
 */
import { z } from "zod";

export const ClientConfigResponse = z.object({
  sandbox: z.object({ phonePageUrl: z.url() }).nullable(),
});
export type ClientConfigResponse = z.infer<typeof ClientConfigResponse>;

/** True unless `twilioBaseUrl` is Twilio's own API host. */
export function isSandboxTwilio(twilioBaseUrl: string): boolean {
  try {
    const host = new URL(twilioBaseUrl).hostname;
    return !(host === "twilio.com" || host.endsWith(".twilio.com"));
  } catch {
    return false;
  }
}
