/**
 * The hosted Checkout page the emulator serves at `/checkout/{cs_id}` (Stripe's would be on
 * checkout.stripe.com): line items and total, an email field, a test-card picker, a "Pay" button
 * (POST `/checkout/{id}/pay`) and a "Cancel" link back to `cancel_url`. Plain server-rendered
 * HTML with no scripts, so a headless browser or a form POST can drive it.
 */
import { TEST_CARDS } from "./cards";
import type { CheckoutSession, LineItem } from "./objects";

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/** `499, "usd"` → `$4.99`; other currencies as `4.99 EUR`. */
export function formatAmount(cents: number, currency: string): string {
  const major = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
  return currency === "usd" ? `$${major}` : `${major} ${currency.toUpperCase()}`;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.2rem}table{width:100%;border-collapse:collapse;margin:1rem 0}td{padding:.3rem 0}
td.amt{text-align:right}.total{font-weight:600;border-top:1px solid #ccc}label{display:block;margin:.8rem 0 .2rem}
input,select{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1.2rem;width:100%;padding:.7rem;
background:#635bff;color:#fff;border:0;border-radius:4px;font-size:1rem}.err{color:#c0123c;margin-top:1rem}
.cancel{display:block;text-align:center;margin-top:1rem}.note{color:#697386;font-size:.8rem;margin-top:2rem}`;

export function renderCheckoutPage(session: CheckoutSession, items: LineItem[], defaultEmail: string, error?: string): string {
  const rows = items
    .map(
      (li) =>
        `<tr><td>${esc(li.description)}${li.quantity > 1 ? ` × ${li.quantity}` : ""}</td><td class="amt">${formatAmount(li.amount_total, li.currency)}</td></tr>`,
    )
    .join("");
  const total = formatAmount(session.amount_total, session.currency);
  if (session.status !== "open") {
    return page(
      "Checkout",
      `<h1>${session.status === "complete" ? "This payment is complete" : "This checkout session has expired"}</h1>
<p data-testid="session-status">${esc(session.status)}</p>`,
    );
  }
  const cards = Object.entries(TEST_CARDS)
    .map(([key, c]) => `<option value="${esc(key)}"${key === "visa" ? " selected" : ""}>${esc(c.label)}</option>`)
    .join("");
  return page(
    `Pay ${total}`,
    `<h1>Pay ${total}</h1>
<table>${rows}<tr class="total"><td>Total</td><td class="amt" data-testid="total">${total}</td></tr></table>
<form method="post" action="/checkout/${esc(session.id)}/pay">
<label for="email">Email</label><input id="email" name="email" type="email" value="${esc(defaultEmail)}" required>
<label for="card">Test card</label><select id="card" name="card">${cards}</select>
<button type="submit" data-testid="pay">Pay ${total}</button>
</form>
${error ? `<p class="err" role="alert" data-testid="error">${esc(error)}</p>` : ""}
${session.cancel_url ? `<a class="cancel" data-testid="cancel" href="/checkout/${esc(session.id)}/cancel">Cancel</a>` : ""}
<p class="note">Stripe emulator (test mode). No real card is charged.</p>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}
