/**
 * Deterministic approximate tokenizer for the LLM emulator: text is cut into word-ish pieces
 * (a word with its leading whitespace, or one punctuation mark), and a piece costs one token per
 * started 4 characters. The same pieces are the deltas of a streamed reply, so streamed and
 * non-streamed completions report identical usage.
 */

const PIECE = /\s*[\p{L}\p{N}'’]+|\s*[^\s\p{L}\p{N}]|\s+$/gu;

/** Splits text into stream pieces; concatenating them gives back the text exactly. */
export function pieces(text: string): string[] {
  const out = text.match(PIECE) ?? [];
  // A whitespace run the pattern skipped (e.g. between two punctuation marks) stays attached.
  const joined = out.join("");
  return joined === text ? out : [text];
}

function pieceTokens(piece: string): number {
  const n = piece.trim().length;
  return n === 0 ? 0 : Math.ceil(n / 4);
}

/** Approximate token count of `text`. */
export function countTokens(text: string): number {
  let total = 0;
  for (const p of pieces(text)) total += pieceTokens(p);
  return total;
}

/** The longest prefix of `text` that fits in `maxTokens`, and whether it was cut. */
export function truncateToTokens(text: string, maxTokens: number): { text: string; truncated: boolean } {
  let used = 0;
  let out = "";
  for (const p of pieces(text)) {
    const t = pieceTokens(p);
    if (used + t > maxTokens) return { text: out, truncated: true };
    used += t;
    out += p;
  }
  return { text: out, truncated: false };
}
