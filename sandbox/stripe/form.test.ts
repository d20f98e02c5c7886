/** Stripe's bracket-notation form encoding, decoded as the API server reads it. */
import { describe, expect, it } from "vitest";
import { parseForm } from "./form";

describe("parseForm", () => {
  it("decodes nested objects, indexed arrays, [] arrays and + as space", () => {
    const parsed = parseForm(
      "metadata[plan]=pro+pack&line_items[0][price_data][unit_amount]=499&line_items[0][quantity]=2&line_items[1][price_data][unit_amount]=100&expand[]=latest_charge&expand[]=customer",
    );
    expect(parsed).toEqual({
      metadata: { plan: "pro pack" },
      line_items: [{ price_data: { unit_amount: "499" }, quantity: "2" }, { price_data: { unit_amount: "100" } }],
      expand: ["latest_charge", "customer"],
    });
  });

  it("accepts percent-encoded brackets and keeps an empty value (used to unset metadata)", () => {
    expect(parseForm("metadata%5Bplan%5D=&email=a%40b.co")).toEqual({ metadata: { plan: "" }, email: "a@b.co" });
  });
});
