/**
 * Money helpers for the SPA, integer maths only: dollars typed by a user ↔ micro-dollars, vendor
 * costs with sub-cent precision, service labels, and the user's running spend during a call (the
 * same rule as the server's cost meter: the tier price per started minute, in whole cents, capped
 * at the price).
 */

/** "2.5", "$2.50", "2" → 2_500_000; "" → null (no limit); invalid → undefined. */
export function parseDollars(input: string): number | null | undefined {
  const t = input.trim().replace(/^\$/, "").replace(/,/g, "");
  if (t === "") return null;
  const m = /^([0-9]{1,9})(?:\.([0-9]{0,2}))?$/.exec(t);
  if (!m) return undefined;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(2, "0")) * 10_000;
}

/** 2_500_000 → "2.50"; null → "". */
export function dollarsInput(micros: number | null): string {
  if (micros === null) return "";
  const cents = Math.round(micros / 10_000);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

/** Vendor costs with four decimals: 422_320 → "$0.4223". */
export function formatMicros4(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(Math.round(micros));
  return `${sign}$${Math.floor(abs / 1_000_000)}.${String(Math.round((abs % 1_000_000) / 100)).padStart(4, "0")}`;
}

export const SERVICE_LABELS: Record<string, string> = {
  twilio: "Phone line (Twilio)",
  deepgram: "Listening (Deepgram)",
  cerebras: "Thinking (Cerebras)",
  openai: "Thinking, fallback (OpenAI)",
  elevenlabs: "Voice (ElevenLabs)",
  platform: "Platform",
  stripe: "Card fees (Stripe)",
};

export const SERVICE_COLORS: Record<string, string> = {
  twilio: "#ef4444",
  deepgram: "#10b981",
  cerebras: "#7c5cff",
  openai: "#0ea5e9",
  elevenlabs: "#f59e0b",
  platform: "#64748b",
  stripe: "#ec4899",
};

/** The user's spend after `elapsedS` connected seconds of a call priced `priceMicros` for `minutes`. */
export function spendSoFar(priceMicros: number, minutes: number, elapsedS: number, extensions = 0, extensionMicros = 2_990_000): number {
  if (priceMicros <= 0 || minutes <= 0) return 0;
  const started = Math.min(minutes, Math.floor(Math.max(0, elapsedS) / 60) + 1);
  const base = started >= minutes ? priceMicros : Math.floor((priceMicros * started) / minutes / 10_000) * 10_000;
  return base + extensions * extensionMicros;
}
