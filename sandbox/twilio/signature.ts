/**
 * `X-Twilio-Signature` as Twilio computes it: base64(HMAC-SHA1(authToken, url + each POST
 * parameter as key+value in sorted key order)). For GET requests and WebSocket upgrades the
 * parameters are empty and the query string is part of the URL. Node only.
 */
import { createHmac } from "node:crypto";

export function twilioSignature(authToken: string, url: string, params: Record<string, string> = {}): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + (params[key] ?? ""), url);
  return createHmac("sha1", authToken).update(Buffer.from(data, "utf-8")).digest("base64");
}
