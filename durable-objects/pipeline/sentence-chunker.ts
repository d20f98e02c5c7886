/**
 * Splits a streamed LLM reply into speakable chunks for TTS: whole sentences, except that the
 * FIRST chunk of a turn ends early — at a clause boundary (`,;:—`) once it has
 * `firstChunkMinChars`, or at the first word boundary once it has `firstChunkWordChars` — so
 * audio starts after the first few words (a little prosody traded for ~10 ms). The SECOND chunk
 * may end at a clause boundary once it has `secondChunkClauseChars`, so a long first sentence
 * does not hold the audio after those first words back until it ends. Very long runs are cut at whitespace after
 * `maxChars`. Decimal points and common abbreviations do not end a sentence.
 * Isolated and pure: no knowledge of the pipeline.
 */

export interface SentenceChunkerOptions {
  /** Min length before the first chunk may end at a clause boundary. @default 10 */
  firstChunkMinChars?: number;
  /** Min length before the first chunk may end at any word boundary; 0 turns that off. @default 12 */
  firstChunkWordChars?: number;
  /** Min length before the second chunk may end at a clause boundary. @default 24 */
  secondChunkClauseChars?: number;
  /** Min length of any sentence chunk (shorter sentences are merged with the next). @default 8 */
  minChars?: number;
  /** Force a cut at whitespace beyond this length. @default 220 */
  maxChars?: number;
}

const ABBREVIATIONS = new Set(["mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "jr", "sr", "prof", "no"]);

export class SentenceChunker {
  private buf = "";
  private emitted = 0;
  private readonly firstMin: number;
  private readonly firstWordMin: number;
  private readonly secondClauseMin: number;
  private readonly minChars: number;
  private readonly maxChars: number;

  constructor(opts: SentenceChunkerOptions = {}) {
    this.firstMin = opts.firstChunkMinChars ?? 10;
    this.firstWordMin = opts.firstChunkWordChars ?? 12;
    this.secondClauseMin = opts.secondChunkClauseChars ?? 24;
    this.minChars = opts.minChars ?? 8;
    this.maxChars = opts.maxChars ?? 220;
  }

  /** Adds streamed text; returns the chunks completed by it (possibly none). */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut < 0) break;
      const chunk = this.buf.slice(0, cut).trim();
      this.buf = this.buf.slice(cut).replace(/^\s+/, "");
      if (chunk) {
        out.push(chunk);
        this.emitted++;
      }
    }
    return out;
  }

  /** Returns whatever is left (end of the reply). */
  flush(): string[] {
    const rest = this.buf.trim();
    this.buf = "";
    if (!rest) return [];
    this.emitted++;
    return [rest];
  }

  /** Index just past the end of the next complete chunk in `buf`, or -1. */
  private findCut(): number {
    const b = this.buf;
    for (let i = 0; i < b.length; i++) {
      const c = b[i];
      const next = b[i + 1];
      // A boundary needs the following character to know it is not "3.5" or "...".
      if (next === undefined) break;
      const atSpace = next === " " || next === "\n";
      if ((c === "." || c === "!" || c === "?" || c === "…") && atSpace) {
        if (c === "." && this.isAbbreviation(i)) continue;
        if (i + 1 >= this.minChars) return i + 1;
      } else if (c === "\n" && i >= this.minChars) {
        return i + 1;
      } else if (this.emitted < 2 && (c === "," || c === ";" || c === ":" || c === "—") && atSpace && i + 1 >= (this.emitted === 0 ? this.firstMin : this.secondClauseMin)) {
        return i + 1;
      } else if (this.emitted === 0 && this.firstWordMin > 0 && c !== " " && atSpace && i + 1 >= this.firstWordMin) {
        return i + 1;
      }
      if (i >= this.maxChars && c === " ") return i + 1;
    }
    return -1;
  }

  private isAbbreviation(dotIndex: number): boolean {
    const before = this.buf.slice(0, dotIndex);
    const word = /([A-Za-z.]+)$/.exec(before)?.[1]?.toLowerCase() ?? "";
    return ABBREVIATIONS.has(word) || /^[a-z]$/.test(word);
  }
}
