/** Turns API and network failures into short, human sentences for the UI. */
import { ApiError } from "../api/client";

/** What the user was doing, so the same code can read differently per screen. */
export type ErrorContext = "login" | "register" | "generic";

function retryPhrase(seconds: number | undefined): string {
  if (seconds === undefined) return "Please wait a few minutes and try again.";
  if (seconds < 90) return `Please try again in ${seconds} second${seconds === 1 ? "" : "s"}.`;
  const minutes = Math.ceil(seconds / 60);
  return `Please try again in ${minutes} minutes.`;
}

/** A user-facing message for any thrown value. */
export function describeError(err: unknown, context: ErrorContext = "generic"): string {
  if (!(err instanceof ApiError)) {
    return err instanceof Error && err.message ? err.message : "Something went wrong. Please try again.";
  }
  switch (err.code) {
    case "rate_limited":
      return context === "login"
        ? `Too many sign-in attempts. ${retryPhrase(err.retryAfterS)}`
        : `You're going a little fast. ${retryPhrase(err.retryAfterS)}`;
    case "unauthorized":
      return context === "login" ? "That email and password don't match an account." : "Your session has ended. Please sign in again.";
    case "conflict":
      return context === "register" ? "That email is already registered. Try signing in instead." : err.message;
    case "network_error":
    case "bad_response":
      return err.message;
    case "internal":
      return "The server had a problem. Please try again in a moment.";
    default:
      return err.message || "Something went wrong. Please try again.";
  }
}
