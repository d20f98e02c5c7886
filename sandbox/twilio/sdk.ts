/**
 * Points the official `twilio` SDK at the emulator without touching its request building: a
 * `RequestClient` subclass that only swaps scheme+host of api.twilio.com / verify.twilio.com
 * (and every other Twilio domain) for the emulator's base URL. Node only (tests, scripts).
 */
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import type Response from "twilio/lib/http/response";

export class EmulatorRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super();
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const u = new URL(opts.uri);
    return super.request({ ...opts, uri: `${this.baseUrl.replace(/\/$/, "")}${u.pathname}${u.search}` });
  }
}

/** A twilio-node client whose every request goes to the emulator at `baseUrl`. */
export function emulatorClient(baseUrl: string, accountSid: string, authToken: string): twilio.Twilio {
  return twilio(accountSid, authToken, { httpClient: new EmulatorRequestClient(baseUrl) });
}
