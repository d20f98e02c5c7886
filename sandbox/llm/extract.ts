/**
 * JSON mode for the LLM emulator: call summarisation and fact extraction over a transcript, and
 * filling a caller-supplied JSON schema by property name.
 *
 * The transcript is read from `Speaker: text` lines anywhere in the prompt (or, failing that, from
 * the user/assistant messages themselves). Facts come only from the USER's lines, by patterns such
 * as "I'm training for …", "I work as/at …", "my wife/daughter …", "I love/like …", "I'm going to …",
 * "my goal is …". Deterministic; no model behind it.
 */
import type { ChatMessage } from "./generator";
import { keywords, readPersona } from "./generator";

export type FactCategory = "job" | "family" | "goals" | "preferences" | "events" | "inside_jokes" | "other";

export interface ExtractedFact {
  category: FactCategory;
  key: string;
  value: string;
  /** The fact as a short sentence about the user. */
  fact: string;
}

export interface CallAnalysis {
  summary: string;
  topics: string[];
  outcome: string;
  facts: ExtractedFact[];
  sentiment: "positive" | "neutral" | "negative";
  userLines: string[];
}

interface Line {
  speaker: "user" | "assistant";
  text: string;
}

const ASSISTANT_LABEL = /^(assistant|ai|bot|agent|persona|model)$/i;
const USER_LABEL = /^(user|caller|callee|human|customer|client|me|you)$/i;

/** `Speaker: text` lines from the prompt; the persona's name and assistant-like labels are the assistant. */
interface Transcript {
  lines: Line[];
  /** Speaker labels as written, when the transcript names them. */
  assistantLabel: string | null;
  userLabel: string | null;
}

function transcriptLines(messages: ChatMessage[], personaName: string, userName: string | null): Transcript {
  const labelled: Array<{ label: string; text: string }> = [];
  for (const m of messages) {
    for (const raw of m.content.split(/\r?\n/)) {
      const mm = /^\s*(?:\[[^\]]*\]\s*)?(?:\*\*)?([A-Za-z][\w.'-]{0,20}(?: [A-Z][\w.'-]{0,20})?)(?:\*\*)?\s*(?:\([^)]*\))?:\s+(.+)$/.exec(raw);
      if (mm) labelled.push({ label: mm[1]!.trim(), text: mm[2]!.trim() });
    }
  }
  // A name label counts as a speaker only if it speaks more than once (so "Rules: …" is not a line).
  const counts = new Map<string, number>();
  for (const l of labelled) counts.set(l.label.toLowerCase(), (counts.get(l.label.toLowerCase()) ?? 0) + 1);
  const isSpeaker = (label: string): boolean =>
    ASSISTANT_LABEL.test(label) || USER_LABEL.test(label) || (/^[A-Z][a-z]+$/.test(label) && (counts.get(label.toLowerCase()) ?? 0) >= 2);
  const speakers = labelled.filter((l) => isSpeaker(l.label));
  const prompt = messages.map((m) => m.content).join("\n");
  const assistant = new Set<string>();
  for (const { label } of speakers) {
    const low = label.toLowerCase();
    const esc = label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (
      ASSISTANT_LABEL.test(label) ||
      low === personaName.toLowerCase() ||
      new RegExp(`\\b${esc}\\s*\\((?:the )?(?:AI|assistant|persona|bot|agent)`, "i").test(prompt) ||
      new RegExp(`\\b(?:AI|persona|assistant)\\b[^.\\n]{0,24}\\b${esc}\\b`, "i").test(prompt)
    ) {
      assistant.add(low);
    }
  }
  const distinct = [...new Set(speakers.map((l) => l.label.toLowerCase()))];
  if (assistant.size === 0 && distinct.length >= 2) {
    const users = distinct.filter((d) => USER_LABEL.test(d) || d === userName?.toLowerCase());
    // Outbound persona calls: whoever is not the user, else the first to speak (the persona greets).
    if (users.length > 0) for (const d of distinct) if (!users.includes(d)) assistant.add(d);
    if (assistant.size === 0) assistant.add(distinct[0]!);
  }
  const out: Line[] = speakers.map(({ label, text }) => ({ speaker: assistant.has(label.toLowerCase()) ? "assistant" : "user", text }));
  if (out.some((l) => l.speaker === "user")) {
    const named = (l: { label: string }) => /^[A-Z][a-z]+$/.test(l.label) && !USER_LABEL.test(l.label) && !ASSISTANT_LABEL.test(l.label);
    return {
      lines: out,
      assistantLabel: speakers.find((l) => assistant.has(l.label.toLowerCase()) && named(l))?.label ?? null,
      userLabel: speakers.find((l) => !assistant.has(l.label.toLowerCase()) && named(l))?.label ?? null,
    };
  }
  // No labelled transcript: the conversation itself.
  return {
    lines: messages.filter((m) => m.role === "user" || m.role === "assistant").map((m) => ({ speaker: m.role === "user" ? "user" : "assistant", text: m.content })),
    assistantLabel: null,
    userLabel: null,
  };
}

/** Tidies a captured value and puts it in the third person ("my mom" → "their mom"). */
const clean = (s: string): string =>
  s
    .replace(/\s+/g, " ")
    .replace(/^[\s,]+|[\s,.!?]+$/g, "")
    .replace(/\s+(?:now|currently|these days|again|too|also|anymore)$/i, "")
    .replace(/\b(my|I'm|I|me|myself|mine)\b/g, (w) => ({ my: "their", "I'm": "they're", I: "they", me: "them", myself: "themself", mine: "theirs" })[w] ?? w)
    .trim();

interface Rule {
  re: RegExp;
  category: FactCategory;
  key: (m: RegExpExecArray) => string;
  value: (m: RegExpExecArray) => string;
  fact: (m: RegExpExecArray) => string;
}

const JOBS = "nurse|teacher|doctor|engineer|developer|programmer|designer|lawyer|accountant|manager|student|chef|cook|writer|artist|musician|firefighter|mechanic|electrician|consultant|analyst|scientist|researcher|pilot|driver|barista|therapist|architect|farmer|carpenter|plumber|salesman|realtor|pharmacist|dentist|paramedic|officer|soldier|professor|librarian";
const RELATIONS = "wife|husband|daughter|son|kids?|children|mom|mother|dad|father|sister|brother|partner|girlfriend|boyfriend|fianc[eé]e?|grandma|grandmother|grandpa|grandfather|dog|cat|baby|family";
const UNTIL = "([^,.!?;]+?)(?=\\s+(?:and|but|so|because)\\s|[,.!?;]|$)";

const RULES: Rule[] = [
  { re: new RegExp(`\\bI(?:'m| am) (?:currently )?training for (?:the |a |an )?${UNTIL}`, "i"), category: "goals", key: () => "training", value: (m) => clean(m[1]!), fact: (m) => `Training for ${clean(m[1]!)}` },
  { re: new RegExp(`\\bmy goal is (?:to )?${UNTIL}`, "i"), category: "goals", key: () => "goal", value: (m) => clean(m[1]!), fact: (m) => `Goal: ${clean(m[1]!)}` },
  { re: new RegExp(`\\bI(?:'m| am) (?:trying|hoping|planning) to ${UNTIL}`, "i"), category: "goals", key: () => "goal", value: (m) => clean(m[1]!), fact: (m) => `Wants to ${clean(m[1]!)}` },
  {
    re: new RegExp(`\\bI work (?:at|for) ([^,.!?;]+?) as an? ${UNTIL}`, "i"),
    category: "job",
    key: () => "job",
    value: (m) => `${clean(m[2]!)} at ${clean(m[1]!)}`,
    fact: (m) => `Works as a ${clean(m[2]!)} at ${clean(m[1]!)}`,
  },
  {
    re: new RegExp(`\\bI work (as an?|at|for|in) ${UNTIL}`, "i"),
    category: "job",
    key: () => "job",
    value: (m) => clean(m[2]!),
    fact: (m) => `Works ${m[1]!.toLowerCase()} ${clean(m[2]!)}`,
  },
  { re: new RegExp(`\\bI(?:'m| am) an? (${JOBS})\\b(?:\\s+(?:at|for|in)\\s+${UNTIL})?`, "i"), category: "job", key: () => "job", value: (m) => clean(`${m[1]}${m[2] ? ` at ${m[2]}` : ""}`), fact: (m) => `Works as a ${m[1]}${m[2] ? ` at ${clean(m[2])}` : ""}` },
  { re: new RegExp(`\\bmy job\\b(?: is)? ${UNTIL}`, "i"), category: "job", key: () => "job", value: (m) => clean(m[1]!), fact: (m) => `Job: ${clean(m[1]!)}` },
  {
    re: new RegExp(`\\bmy (${RELATIONS})(?:'s name is|,? named| is called| is)\\s+${UNTIL}`, "i"),
    category: "family",
    key: (m) => m[1]!.toLowerCase(),
    value: (m) => clean(m[2]!),
    fact: (m) => `${m[1]!.charAt(0).toUpperCase()}${m[1]!.slice(1).toLowerCase()} is ${clean(m[2]!)}`,
  },
  {
    re: new RegExp(`\\b[Mm]y (${RELATIONS}),? ([A-Z][a-z]+)\\b(?:${UNTIL})?`, ""),
    category: "family",
    key: (m) => m[1]!.toLowerCase(),
    value: (m) => clean(`${m[2]}${m[3] ?? ""}`),
    fact: (m) => `${m[1]!.charAt(0).toUpperCase()}${m[1]!.slice(1).toLowerCase()} ${clean(`${m[2]}${m[3] ?? ""}`)}`,
  },
  { re: new RegExp(`\\bI (?:really |absolutely |just )?(love|like|enjoy|adore|hate|can't stand) ${UNTIL}`, "i"), category: "preferences", key: (m) => (/hate|can't/i.test(m[1]!) ? "dislikes" : "likes"), value: (m) => clean(m[2]!), fact: (m) => `${/hate|can't/i.test(m[1]!) ? "Dislikes" : "Loves"} ${clean(m[2]!)}` },
  { re: new RegExp(`\\bmy fav(?:ou?rite|e) ([a-z ]+?) is ${UNTIL}`, "i"), category: "preferences", key: (m) => `favorite ${clean(m[1]!)}`, value: (m) => clean(m[2]!), fact: (m) => `Favorite ${clean(m[1]!)}: ${clean(m[2]!)}` },
  { re: new RegExp(`\\bI(?:'m| am) (?:going|gonna go|heading|flying|traveling|travelling) (?:to )?${UNTIL}`, "i"), category: "events", key: () => "plan", value: (m) => clean(m[1]!), fact: (m) => `Going to ${clean(m[1]!)}` },
  { re: new RegExp(`\\bI have (?:a|an|my) ${UNTIL}`, "i"), category: "events", key: () => "upcoming", value: (m) => clean(m[1]!), fact: (m) => `Has ${clean(m[1]!)}` },
  { re: new RegExp(`\\b(?:our|that's our|it's our) (?:inside )?joke(?: is)? ?${UNTIL}`, "i"), category: "inside_jokes", key: () => "joke", value: (m) => clean(m[1] ?? ""), fact: (m) => `Inside joke: ${clean(m[1] ?? "")}` },
  { re: new RegExp(`\\bI live in ${UNTIL}`, "i"), category: "other", key: () => "home", value: (m) => clean(m[1]!), fact: (m) => `Lives in ${clean(m[1]!)}` },
];

/** Facts stated by the user, deduplicated, in order of appearance. */
export function extractFacts(userLines: string[]): ExtractedFact[] {
  const out: ExtractedFact[] = [];
  const seen = new Set<string>();
  for (const line of userLines) {
    const taken: Array<[number, number]> = [];
    const found: Array<{ start: number; fact: ExtractedFact }> = [];
    for (const rule of RULES) {
      const re = new RegExp(rule.re.source, `${rule.re.flags.replace("g", "")}g`);
      for (let m = re.exec(line); m; m = re.exec(line)) {
        const start = m.index;
        const end = start + m[0].length;
        // A more specific rule already explained this part of the line.
        if (taken.some(([a, b]) => start < b && end > a && start >= a - 2)) continue;
        const value = rule.value(m);
        if (value.length < 2) continue;
        const f: ExtractedFact = { category: rule.category, key: rule.key(m), value, fact: rule.fact(m) };
        const id = `${f.category}|${f.value.toLowerCase()}`;
        if (!seen.has(id)) {
          seen.add(id);
          found.push({ start, fact: f });
          taken.push([start, end]);
        }
      }
    }
    found.sort((a, b) => a.start - b.start);
    out.push(...found.map((x) => x.fact));
  }
  return out;
}

const TOPIC_STOP = new Set("pretty good great yeah okay fine love like really just been it's that's what with have this they them their then there were would could should about think know going getting started start went want wanted thing things much well still also right sure thanks thank".split(" "));

/** Words both speakers used rank first, then frequent ones; adjacent top words merge ("marathon training"). */
function topicsOf(lines: Line[]): string[] {
  const stats = new Map<string, { n: number; first: number; user: boolean; assistant: boolean }>();
  let order = 0;
  for (const l of lines) {
    for (const w of l.text.toLowerCase().match(/[\p{L}']+/gu) ?? []) {
      if (w.length < 4 || TOPIC_STOP.has(w) || keywords(w).length === 0) continue;
      const st = stats.get(w) ?? { n: 0, first: order++, user: false, assistant: false };
      st.n++;
      if (l.speaker === "user") st.user = true;
      else st.assistant = true;
      stats.set(w, st);
    }
  }
  const ranked = [...stats.entries()]
    .filter(([, st]) => st.user)
    .sort((a, b) => Number(b[1].assistant) - Number(a[1].assistant) || b[1].n - a[1].n || a[1].first - b[1].first)
    .map(([w]) => w)
    .slice(0, 5);
  const text = lines.map((l) => l.text.toLowerCase()).join(" ");
  const topics: string[] = [];
  const used = new Set<string>();
  for (const w of ranked) {
    if (used.has(w)) continue;
    const partner = ranked.find((x) => x !== w && !used.has(x) && (text.includes(`${w} ${x}`) || text.includes(`${x} ${w}`)));
    if (partner) {
      topics.push(text.includes(`${w} ${partner}`) ? `${w} ${partner}` : `${partner} ${w}`);
      used.add(partner);
    } else topics.push(w);
    used.add(w);
    if (topics.length >= 4) break;
  }
  return topics;
}

/** Summary, topics, outcome and user facts of the transcript in `messages`. */
export function analyseCall(messages: ChatMessage[]): CallAnalysis {
  const system = messages.filter((m) => m.role === "system" || m.role === "developer").map((m) => m.content).join("\n");
  const persona = readPersona(system);
  const t = transcriptLines(messages, persona.name, persona.userName);
  const userLines = t.lines.filter((l) => l.speaker === "user").map((l) => l.text);
  const facts = extractFacts(userLines);
  const topics = topicsOf(t.lines);
  const all = userLines.join(" ");
  const neg = (all.match(/\b(tired|bad|stress\w*|sad|hard|rough|sick|hurt|worried|anxious|exhausted|awful|terrible)\b/gi) ?? []).length;
  const pos = (all.match(/\b(great|good|awesome|amazing|love|excited|happy|fun|fantastic|better|proud)\b/gi) ?? []).length;
  const sentiment = pos > neg ? "positive" : neg > pos ? "negative" : "neutral";
  const plan =
    /\b(?:I(?:'ll| will) call you|call me (?:back )?(?:tomorrow|next \w+|later|on \w+))\b[^.!?]*/i.exec(all)?.[0] ??
    /\b(?:I(?:'ll| will)|I'm going to|I am going to|going to try)\b[^.!?]*/i.exec(all)?.[0];
  const outcome = userLines.length === 0 ? "No conversation took place." : plan ? `The user said: "${plan.trim()}".` : `Friendly check-in; the user ended the call in a ${sentiment} mood.`;
  const who = t.userLabel ?? persona.userName ?? "The user";
  const personaName = t.assistantLabel ?? persona.name;
  const summary =
    userLines.length === 0
      ? "The call connected but the user did not speak."
      : `${who} talked with ${personaName}${topics.length ? ` about ${topics.slice(0, 3).join(", ")}` : ""}.${facts[0] ? ` They mentioned: ${facts[0].fact.charAt(0).toLowerCase()}${facts[0].fact.slice(1)}.` : ""}`;
  return { summary, topics, outcome, facts, sentiment, userLines };
}

type Schema = Record<string, unknown>;

function resolveRef(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let guard = 0; typeof s.$ref === "string" && guard < 10; guard++) {
    const path = (s.$ref as string).replace(/^#\//, "").split("/");
    let cur: unknown = root;
    for (const p of path) cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
    s = typeof cur === "object" && cur !== null ? (cur as Schema) : {};
  }
  const alt = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(alt)) {
    const nonNull = alt.find((a) => a.type !== "null") ?? alt[0] ?? {};
    return resolveRef(nonNull, root);
  }
  return s;
}

function typeOf(s: Schema): string {
  if (Array.isArray(s.type)) return (s.type as string[]).find((t) => t !== "null") ?? "null";
  if (typeof s.type === "string") return s.type;
  if (s.properties) return "object";
  if (s.items) return "array";
  if (Array.isArray(s.enum)) return typeof s.enum[0];
  return "string";
}

const SYNONYMS: Record<string, string[]> = {
  job: ["work", "career", "professional", "occupation"],
  family: ["relationships", "relationship", "people", "personal"],
  goals: ["goal", "aspirations", "plans"],
  preferences: ["preference", "likes", "interests", "hobbies"],
  events: ["event", "plans", "schedule", "upcoming"],
  inside_jokes: ["inside_joke", "jokes", "humor"],
};

function fitEnum(s: Schema, value: unknown): unknown {
  if (!Array.isArray(s.enum) || s.enum.length === 0) return value;
  if (s.enum.includes(value)) return value;
  const syn = typeof value === "string" ? SYNONYMS[value]?.find((x) => (s.enum as unknown[]).includes(x)) : undefined;
  if (syn) return syn;
  const lower = typeof value === "string" ? value.toLowerCase() : value;
  const near = s.enum.find((e) => typeof e === "string" && typeof lower === "string" && (e.toLowerCase() === lower || e.toLowerCase().startsWith(lower.slice(0, 4))));
  return near ?? (s.enum.includes("other") ? "other" : s.enum[0]);
}

/** A value for the property `name` of schema `s`, filled from the analysis. */
function fill(s0: Schema, name: string, a: CallAnalysis, root: Schema, fact?: ExtractedFact): unknown {
  const s = resolveRef(s0, root);
  const t = typeOf(s);
  const n = name.toLowerCase();
  if (t === "object") {
    const props = (s.properties ?? {}) as Record<string, Schema>;
    const out: Record<string, unknown> = {};
    for (const [k, ps] of Object.entries(props)) out[k] = fill(ps, k, a, root, fact);
    return out;
  }
  if (t === "array") {
    const items = resolveRef((s.items ?? {}) as Schema, root);
    const it = typeOf(items);
    let values: unknown[];
    if (/fact|memor|learn|detail|insight|item/.test(n) && it === "object") values = a.facts.map((f) => fill(items, "item", a, root, f));
    else if (/fact|memor/.test(n)) values = a.facts.map((f) => f.fact);
    else if (/topic|tag|keyword|subject|theme/.test(n)) values = a.topics;
    else if (/next|action|follow|todo|task/.test(n)) values = a.outcome.startsWith("The user said") ? [a.outcome] : [];
    else values = [];
    if (it === "string" && items.enum) values = values.map((v) => fitEnum(items, v));
    const max = typeof s.maxItems === "number" ? s.maxItems : values.length;
    return values.slice(0, max);
  }
  if (t === "string") {
    let v: string;
    if (fact && /categor|type|kind|class/.test(n)) v = fact.category;
    else if (fact && /^(key|name|label|subject|attribute|field|title)$/.test(n)) v = fact.key;
    else if (fact && /^(value|detail|content|text|description|info)$/.test(n)) v = fact.value;
    else if (fact && /fact|statement|memory|sentence/.test(n)) v = fact.fact;
    else if (/summar|overview|recap|description|gist/.test(n)) v = a.summary;
    else if (/outcome|result|conclusion|resolution|status/.test(n)) v = a.outcome;
    else if (/sentiment|mood|tone|feeling/.test(n)) v = a.sentiment;
    else if (/title|headline/.test(n)) v = a.topics.length ? `Chat about ${a.topics.slice(0, 2).join(" and ")}` : "Check-in call";
    else if (/topic|subject|theme/.test(n)) v = a.topics.join(", ");
    else if (/categor/.test(n)) v = "other";
    else v = "";
    return fitEnum(s, v);
  }
  if (t === "number" || t === "integer") {
    let v = 0;
    if (/confiden|certaint|probab/.test(n)) v = t === "integer" ? 1 : 0.9;
    else if (/importan|priority|weight|score/.test(n)) v = typeof s.maximum === "number" ? Math.min(s.maximum, 3) : 3;
    if (typeof s.minimum === "number") v = Math.max(v, s.minimum);
    if (typeof s.maximum === "number") v = Math.min(v, s.maximum);
    return fitEnum(s, v);
  }
  if (t === "boolean") return fitEnum(s, false);
  if (t === "null") return null;
  return fitEnum(s, "");
}

/** A JSON object conforming to `schema` (object at the top), filled from the conversation. */
export function fillSchema(schema: Schema, messages: ChatMessage[]): Record<string, unknown> {
  const a = analyseCall(messages);
  const v = fill(schema, "root", a, schema);
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
}

/** `response_format: json_object`: a summary-shaped object for analysis prompts, else `{reply}`. */
export function jsonObjectReply(messages: ChatMessage[], reply: string): Record<string, unknown> {
  const prompt = messages.filter((m) => m.role !== "assistant").map((m) => m.content).join("\n");
  if (/summar|extract|fact|analy[sz]|transcript|memor/i.test(prompt)) {
    const a = analyseCall(messages);
    return {
      summary: a.summary,
      topics: a.topics,
      outcome: a.outcome,
      sentiment: a.sentiment,
      facts: a.facts.map((f) => ({ category: f.category, key: f.key, value: f.value, fact: f.fact })),
    };
  }
  return { reply };
}
