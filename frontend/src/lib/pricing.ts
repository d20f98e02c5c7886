/**
 * Call prices shown on the landing page (the product's launch price list: one price per call
 * length, in integer micro-dollars, plus one free trial call for new accounts).
 */
export interface CallPrice {
  minutes: number;
  priceMicros: number;
  /** Highlighted as the default choice. */
  popular?: boolean;
  blurb: string;
}

export const CALL_PRICES: readonly CallPrice[] = [
  { minutes: 3, priceMicros: 3_990_000, blurb: "A quick check-in or pep talk." },
  { minutes: 5, priceMicros: 4_990_000, popular: true, blurb: "The sweet spot for a real conversation." },
  { minutes: 10, priceMicros: 7_990_000, blurb: "Talk something through properly." },
  { minutes: 15, priceMicros: 10_990_000, blurb: "Deep dives, planning, brainstorming." },
];

/** Free trial calls a new account gets. */
export const FREE_TRIAL_CALLS = 1;
