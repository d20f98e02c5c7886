/** Display formatting: money from integer micros, durations, dates, colours, initials. */

/** Formats integer micro-dollars as US dollars (e.g. 4_990_000 → "$4.99") without float maths. */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const cents = Math.round(Math.abs(micros) / 10_000);
  const dollars = Math.floor(cents / 100);
  const rest = String(cents % 100).padStart(2, "0");
  return `${sign}$${dollars.toLocaleString("en-US")}.${rest}`;
}

/** "3 min", "1 h 05 min" from seconds. */
export function formatDurationS(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** A short local date ("Nov 22, 2026"); empty for null. */
export function formatDate(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

const HEX_RE = /^#[0-9a-fA-F]{6}$/;

/** The persona's accent colour if it is a valid #RRGGBB, else the brand violet. */
export function safeColor(color: string | null | undefined): string {
  return color && HEX_RE.test(color) ? color : "#7c5cff";
}

/** Initials from a name: first + last word ("Ada Lovelace" → "AL"), or one letter for one word. */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]?.[0], parts[parts.length - 1]?.[0]] : [parts[0]?.[0]];
  return letters.filter(Boolean).join("").toUpperCase() || "?";
}
