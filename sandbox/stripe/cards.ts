/**
 * Stripe's test cards as the emulator knows them: the magic PaymentMethod ids
 * (`pm_card_visa`, `pm_card_chargeDeclined`, …), the matching test tokens (`tok_visa`, …) and
 * test card numbers, each with the behaviour Stripe documents for it (succeeds, declines with a
 * code, or demands 3-D Secure authentication).
 */

export interface TestCard {
  brand: "visa" | "mastercard" | "amex";
  last4: string;
  funding: "credit" | "debit";
  country: string;
  /** Confirming a payment with this card declines with this code (a 402 card_error). */
  decline?: { code: string; declineCode: string; message: string };
  /** Every payment and setup needs 3-D Secure; off-session payments fail with authentication_required. */
  authAlways?: boolean;
  /** Only setting the card up needs 3-D Secure; later off-session payments succeed. */
  authOnSetup?: boolean;
  /** Human label for the hosted checkout page. */
  label: string;
}

const GENERIC_DECLINE = { code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." };

export const TEST_CARDS: Record<string, TestCard> = {
  visa: { brand: "visa", last4: "4242", funding: "credit", country: "US", label: "Visa 4242 (succeeds)" },
  visa_debit: { brand: "visa", last4: "5556", funding: "debit", country: "US", label: "Visa debit 5556 (succeeds)" },
  mastercard: { brand: "mastercard", last4: "4444", funding: "credit", country: "US", label: "Mastercard 4444 (succeeds)" },
  amex: { brand: "amex", last4: "8431", funding: "credit", country: "US", label: "Amex 8431 (succeeds)" },
  chargeDeclined: { brand: "visa", last4: "0002", funding: "credit", country: "US", decline: GENERIC_DECLINE, label: "Visa 0002 (declined)" },
  chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    funding: "credit",
    country: "US",
    decline: { code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds." },
    label: "Visa 9995 (insufficient funds)",
  },
  chargeDeclinedExpiredCard: {
    brand: "visa",
    last4: "0069",
    funding: "credit",
    country: "US",
    decline: { code: "expired_card", declineCode: "expired_card", message: "Your card has expired." },
    label: "Visa 0069 (expired card)",
  },
  authenticationRequired: {
    brand: "visa",
    last4: "3184",
    funding: "credit",
    country: "US",
    authAlways: true,
    label: "Visa 3184 (always requires 3-D Secure)",
  },
  authenticationRequiredOnSetup: {
    brand: "visa",
    last4: "3155",
    funding: "credit",
    country: "US",
    authOnSetup: true,
    label: "Visa 3155 (3-D Secure on setup only)",
  },
};

const NUMBERS: Record<string, string> = {
  "4242424242424242": "visa",
  "4000056655665556": "visa_debit",
  "5555555555554444": "mastercard",
  "378282246310005": "amex",
  "4000000000000002": "chargeDeclined",
  "4000000000009995": "chargeDeclinedInsufficientFunds",
  "4000000000000069": "chargeDeclinedExpiredCard",
  "4000002760003184": "authenticationRequired",
  "4000002500003155": "authenticationRequiredOnSetup",
};

/** `pm_card_visa` → the visa test card; undefined for ordinary ids. */
export function cardForMagicPaymentMethod(id: string): { key: string; card: TestCard } | undefined {
  if (!id.startsWith("pm_card_")) return undefined;
  const key = id.slice("pm_card_".length);
  const card = TEST_CARDS[key];
  return card ? { key, card } : undefined;
}

/** `tok_visa`, `tok_chargeDeclined`, … → the test card. */
export function cardForToken(token: string): TestCard | undefined {
  if (!token.startsWith("tok_")) return undefined;
  return TEST_CARDS[token.slice(4)];
}

export function cardForNumber(number: string): TestCard | undefined {
  const key = NUMBERS[number.replace(/\s+/g, "")];
  return key ? TEST_CARDS[key] : undefined;
}
