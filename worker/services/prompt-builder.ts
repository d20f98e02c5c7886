/**
 * Composes a call's system prompt from the persona prompt, the user's relationship override,
 * long-term facts and recent call summaries, within a token budget. Pure: the caller loads the
 * rows (worker/services/memory.ts `buildCallPrompt`). Facts come first by importance then
 * recency, summaries newest first; the persona prompt and override are always kept, memory is
 * added line by line until the budget is spent. Tokens are estimated (1 per started 4 chars),
 * the same approximation the pipeline uses for prompts.
 */

export interface PromptFact {
  id: string;
  category: string;
  content: string;
  importance: number;
  updatedAt: Date;
}

export interface PromptSummary {
  id: string;
  content: string;
  /** When the call happened. */
  at: Date;
}

export interface PromptInput {
  personaPrompt: string;
  /** The user's customisation for this persona (relationship `customSystemPrompt`). */
  override?: string | null;
  userName?: string | null;
  /** IANA zone to date the summaries in. @default "UTC" */
  timezone?: string;
  facts: PromptFact[];
  summaries: PromptSummary[];
  /** Budget for the memory sections (facts + summaries), in tokens. */
  maxMemoryTokens: number;
  /** Contents of deleted facts: summaries restating one are left out. */
  forgotten?: string[];
  /** Mention the past-call search tool. @default true */
  mentionSearchTool?: boolean;
}

export interface ComposedPrompt {
  prompt: string;
  /** Estimated tokens of the whole prompt. */
  tokens: number;
  /** Estimated tokens spent on memory lines (≤ maxMemoryTokens). */
  memoryTokens: number;
  factIds: string[];
  summaryIds: string[];
}

/** Approximate token count: 1 token per started 4 characters of each word-ish piece. */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const piece of text.split(/\s+/)) if (piece) n += Math.ceil(piece.length / 4);
  return n;
}

export const SEARCH_TOOL_NAME = "search_past_calls";

/** Category order among equally important facts: what is going on in their life now first. */
const CATEGORY_RANK: Record<string, number> = { goals: 0, events: 1, family: 2, job: 3, preferences: 4, inside_jokes: 5, other: 6 };

/** Most relevant first: importance, then category (goals, events, family, job…), then most recently confirmed. */
export function rankFacts(facts: PromptFact[]): PromptFact[] {
  const cat = (f: PromptFact) => CATEGORY_RANK[f.category] ?? 7;
  return [...facts].sort(
    (a, b) => b.importance - a.importance || cat(a) - cat(b) || b.updatedAt.getTime() - a.updatedAt.getTime() || a.id.localeCompare(b.id),
  );
}

const STOPWORDS = new Set(["that", "this", "with", "from", "they", "their", "them", "have", "has", "about", "into", "been", "were", "will", "what", "when", "your", "user", "likes", "loves", "wants"]);

function keywords(text: string): string[] {
  return [...new Set((text.toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? []).filter((w) => !STOPWORDS.has(w)))];
}

/**
 * True when `summary` restates a forgotten fact (most of the fact's keywords, at least two, appear
 * in it), so a deleted fact cannot come back through a call summary.
 */
export function mentionsFact(summary: string, fact: string): boolean {
  const words = keywords(fact);
  if (words.length === 0) return false;
  const inSummary = new Set(keywords(summary));
  const hits = words.filter((w) => inSummary.has(w)).length;
  return hits >= Math.min(2, words.length) && hits / words.length >= 0.6;
}

function dateLabel(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", month: "short", day: "numeric" }).format(at);
}

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();

export function composePrompt(input: PromptInput): ComposedPrompt {
  const who = input.userName?.trim() || "the user";
  const head: string[] = [input.personaPrompt.trim()];
  if (input.userName?.trim()) head.push(`You are talking with ${input.userName.trim()}. The user's name is ${input.userName.trim()}.`);
  if (input.override?.trim()) head.push(`How ${who} wants you to be with them:\n${input.override.trim()}`);

  let budget = Math.max(0, input.maxMemoryTokens);
  let memoryTokens = 0;
  const take = (line: string): boolean => {
    const cost = estimateTokens(line);
    if (cost > budget) return false;
    budget -= cost;
    memoryTokens += cost;
    return true;
  };

  const factLines: string[] = [];
  const factIds: string[] = [];
  const factsHeading = `What you know about ${who} (from earlier calls):`;
  const ranked = rankFacts(input.facts);
  if (ranked.length > 0 && take(factsHeading)) {
    for (const f of ranked) {
      const line = `- ${oneLine(f.content)}`;
      if (!take(line)) break;
      factLines.push(line);
      factIds.push(f.id);
    }
  }

  const summaryLines: string[] = [];
  const summaryIds: string[] = [];
  const summariesHeading = `Your recent calls with ${who}:`;
  const forgotten = input.forgotten ?? [];
  const recent = [...input.summaries].filter((s) => !forgotten.some((f) => mentionsFact(s.content, f))).sort((a, b) => b.at.getTime() - a.at.getTime());
  if (recent.length > 0 && take(summariesHeading)) {
    for (const s of recent) {
      const line = `- ${dateLabel(s.at, input.timezone ?? "UTC")}: ${oneLine(s.content)}`;
      if (!take(line)) break;
      summaryLines.push(line);
      summaryIds.push(s.id);
    }
  }

  const sections = [...head];
  if (factLines.length) sections.push([factsHeading, ...factLines].join("\n"));
  if (summaryLines.length) sections.push([summariesHeading, ...summaryLines].join("\n"));
  if (factLines.length || summaryLines.length) {
    sections.push("Bring these up naturally when they fit; never recite them as a list.");
  }
  if (input.mentionSearchTool ?? true) {
    sections.push(`If ${who} asks about an earlier call you don't remember, use the ${SEARCH_TOOL_NAME} tool.`);
  }
  const prompt = sections.join("\n\n");
  return { prompt, tokens: estimateTokens(prompt), memoryTokens, factIds, summaryIds };
}
