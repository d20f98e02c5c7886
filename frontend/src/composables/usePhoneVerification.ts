/**
 * Phone verification, step by step: send a one-time code by text to the number
 * (`POST /api/user/phone/verify`, which also saves the number when it is new), then check the
 * code the user types (`POST /api/user/phone/verify/check`). On success the signed-in user is
 * refreshed so `phoneVerified` is true everywhere. Re-sending is held back for `resendAfterS`;
 * the server limits attempts and its `rate_limited` answer is shown as is.
 */
import { computed, onBeforeUnmount, ref } from "vue";
import type { ComputedRef, Ref } from "vue";
import type { User } from "../api/types";
import { describeError } from "../lib/errors";
import { normalizePhone } from "../lib/validation";
import { useAuthStore } from "../stores/auth";
import { useApi } from "./useApi";

export type VerificationStep = "enter_phone" | "enter_code" | "verified";

export interface PhoneVerification {
  step: Ref<VerificationStep>;
  /** The number the code was sent to (E.164). */
  sentTo: Ref<string | null>;
  busy: Ref<boolean>;
  error: Ref<string | null>;
  /** Seconds until a new code may be requested (0 = now). */
  resendInS: Ref<number>;
  canResend: ComputedRef<boolean>;
  sendCode: (phone: string) => Promise<boolean>;
  resend: () => Promise<boolean>;
  checkCode: (code: string) => Promise<boolean>;
  /** Back to entering a number. */
  changeNumber: () => void;
}

const CODE_RE = /^[0-9]{4,10}$/;
const PHONE_RE = /^\+[1-9][0-9]{6,14}$/;

export function usePhoneVerification(options: { resendAfterS?: number } = {}): PhoneVerification {
  const api = useApi();
  const auth = useAuthStore();
  const step = ref<VerificationStep>(auth.user?.phoneVerified ? "verified" : "enter_phone");
  const sentTo = ref<string | null>(null);
  const busy = ref(false);
  const error = ref<string | null>(null);
  const resendInS = ref(0);
  let timer: ReturnType<typeof setInterval> | null = null;

  function startCooldown(): void {
    resendInS.value = options.resendAfterS ?? 30;
    if (timer) clearInterval(timer);
    timer = setInterval(() => {
      resendInS.value = Math.max(0, resendInS.value - 1);
      if (resendInS.value === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    }, 1000);
  }
  onBeforeUnmount(() => timer && clearInterval(timer));

  async function sendCode(raw: string): Promise<boolean> {
    const phone = normalizePhone(raw);
    error.value = null;
    if (!PHONE_RE.test(phone)) {
      error.value = "Enter your number with + and the country code, e.g. +1 415 555 0100.";
      return false;
    }
    busy.value = true;
    try {
      const res = await api.post<{ status?: string } | undefined>("/api/user/phone/verify", { phone });
      sentTo.value = phone;
      if (res?.status === "already_verified") {
        await auth.fetchMe().catch(() => null);
        step.value = "verified";
        return true;
      }
      step.value = "enter_code";
      startCooldown();
      if (auth.user && auth.user.phone !== phone) auth.user = { ...auth.user, phone, phoneVerified: false };
      return true;
    } catch (err) {
      error.value = describeError(err);
      return false;
    } finally {
      busy.value = false;
    }
  }

  async function checkCode(raw: string): Promise<boolean> {
    const code = raw.replace(/\s/g, "");
    error.value = null;
    if (!CODE_RE.test(code)) {
      error.value = "Enter the code from the text message.";
      return false;
    }
    busy.value = true;
    try {
      const res = await api.post<{ user?: User; verified?: boolean } | undefined>("/api/user/phone/verify/check", { code });
      if (res?.user) auth.user = res.user;
      else await auth.fetchMe();
      if (auth.user && !auth.user.phoneVerified) {
        error.value = "That code didn't match. Check the text message and try again.";
        return false;
      }
      step.value = "verified";
      return true;
    } catch (err) {
      error.value = describeError(err);
      return false;
    } finally {
      busy.value = false;
    }
  }

  const canResend = computed(() => step.value === "enter_code" && resendInS.value === 0 && !busy.value);

  return {
    step,
    sentTo,
    busy,
    error,
    resendInS,
    canResend,
    sendCode,
    resend: () => (sentTo.value ? sendCode(sentTo.value) : Promise.resolve(false)),
    checkCode,
    changeNumber: () => {
      step.value = "enter_phone";
      error.value = null;
    },
  };
}
