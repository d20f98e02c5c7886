/**
 * The LLM emulator's "model": a small deterministic, rule-based generator of phone-call replies.
 *
 * Given an OpenAI-style message list it produces 1–3 short sentences in the persona's voice
 * (name from "You are Brad…" in the system prompt, tone from words like coach/friend/creative),
 * echoing a key phrase of what the user just said and, at the first turn or when the user's words
 * touch one, a fact from a facts/memory section of the system prompt. It also handles the greeting
 * turn, wrap-up/goodbye instructions, a past-call question when a search tool is offered (a tool
 * call), and the answer after a `tool` result. The same input always gives the same output.
 *
 * It is not a language model: anything outside these patterns gets a generic, friendly reply.
 */

export interface ChatMessage {
  role: string;
  content: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
}

export interface ToolDef {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export type Generated =
  | { kind: "text"; content: string }
  | { kind: "tool_call"; name: string; arguments: string };

/** FNV-1a hash: deterministic template choice. */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pick<T>(items: readonly T[], seed: string): T {
  return items[hash(seed) % items.length]!;
}

const STOP = new Set(
  "a an the and or but so of to in on at for with from by about as is are was were be been being am i me my mine you your yours we our us it its this that these those there here what when where who why how which do does did done have has had having just really very too also not no yes yeah yep ok okay well um uh like kind sort gonna wanna got get gets getting going go went can could would should will shall may might must than then them they their he she him her his hers oh hey hi hello thanks thank lot bit some any all one two today yesterday tomorrow week day time thing things stuff pretty much more most".split(
    " ",
  ),
);

/** Content words of `text`, lower-case, lightly stemmed. */
export function keywords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [])
    .map((w) => w.replace(/'s$/, ""))
    .filter((w) => w.length >= 3 && !STOP.has(w))
    .map((w) => w.replace(/(ing|ed|es|s)$/, "") || w);
}

export interface Persona {
  name: string;
  userName: string | null;
  style: "coach" | "friend" | "creative" | "neutral";
  facts: string[];
}

/** Reads the persona name, the user's name, tone and the facts/memory lines from the system prompt. */
export function readPersona(system: string): Persona {
  const name = /\b(?:You are|You're|Your name is|This is)\s+([A-Z][\p{L}'-]+)/u.exec(system)?.[1] ?? "Sam";
  const userName =
    /\b(?:user(?:'s)? name is|talking (?:to|with)|calling|speaking with|the user,?)\s+([A-Z][\p{L}'-]+)/u.exec(system)?.[1] ?? null;
  const lower = system.toLowerCase();
  const style = /\bcoach|motivat|trainer|direct\b/.test(lower)
    ? "coach"
    : /\bcreative|artist|curious|enthusias/.test(lower)
      ? "creative"
      : /\bfriend|empath|support|patient|caring/.test(lower)
        ? "friend"
        : "neutral";
  const facts: string[] = [];
  let inFacts = false;
  for (const raw of system.split(/\r?\n/)) {
    const line = raw.trim();
    const heading = /^#/.test(line) || /:\s*(\*\*)?$/.test(line) || /^\*\*.*\*\*$/.test(line);
    if (heading && !/^[-*•]/.test(line) && line.length < 80 && /\b(facts?|memor(y|ies)|what you know|remember|about the user|relationship|notes?)\b/i.test(line)) {
      inFacts = true;
      continue;
    }
    if (!inFacts) continue;
    if (line === "") continue;
    const bullet = /^(?:[-*•]|\d+[.)])\s+(.*)$/.exec(line);
    if (bullet) facts.push(bullet[1]!.replace(/\*\*/g, "").trim());
    else if (/^#|:$/.test(line)) inFacts = false;
  }
  return { name, userName, style, facts };
}

/** The fact text without a leading `category:` / `key:` label. */
function factBody(fact: string): string {
  return fact.replace(/^[\p{L}_ ]{2,24}:\s*/u, "").replace(/[.!]+$/, "").trim();
}

/** Second-person paraphrase of the user's words ("I'm tired" → "you're tired"). */
export function toSecondPerson(text: string): string {
  const map: Record<string, string> = {
    i: "you",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    me: "you",
    my: "your",
    mine: "yours",
    myself: "yourself",
    am: "are",
    we: "you",
    "we're": "you're",
    our: "your",
    us: "you",
    was: "were",
  };
  let prevI = false;
  return text
    .split(/(\s+)/)
    .map((tok) => {
      if (/^\s+$/.test(tok)) return tok;
      const m = /^([\p{L}']+)(.*)$/u.exec(tok);
      if (!m) return tok;
      const word = m[1]!;
      const low = word.toLowerCase();
      let rep = map[low];
      if (low === "was" && !prevI) rep = undefined;
      prevI = low === "i";
      return rep !== undefined ? rep + m[2] : tok;
    })
    .join("");
}

/** A short, echo-able phrase from the user's message (second person, ≤ 8 words). */
export function keyPhrase(text: string): string {
  const clauses = text
    .split(/[.!?;,]+\s*|\s+(?:but|because|though|although)\s+|\s+and\s+(?=(?:I|I'm|I've|we|my|it's)\b)/i)
    .map((c) => c.replace(/^\s*(?:(?:well|so|um+|uh+|yeah|yes|no|oh|okay|ok|honestly|actually|anyway|and|but|hey|hi|hmm)\b[\s,]*)+/gi, "").trim())
    .filter((c) => c.split(/\s+/).length >= 2 && !/^(?:hey|hi|hello)\b/i.test(c));
  if (clauses.length === 0) return "";
  // Prefer a clause about the user themself, with feeling, then the one with the most content words.
  const scored = clauses.map((c, i) => ({
    c,
    i,
    score: keywords(c).length * 2 + (/\b(i|i'm|my|we)\b/i.test(c) ? 3 : 0) + (NEGATIVE.test(c) || POSITIVE.test(c) ? 5 : 0),
  }));
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  let words = scored[0]!.c.split(/\s+/).slice(0, 10);
  while (words.length > 2 && /^(?:a|an|the|and|or|but|of|to|in|on|at|for|with|my|your|is|was|so|like|kind)$/i.test(words[words.length - 1]!)) words = words.slice(0, -1);
  return toSecondPerson(words.join(" ")).replace(/[,:]+$/, "");
}

/** The fact sharing the most keywords with `text`, if any. */
function relatedFact(facts: string[], text: string): string | null {
  const kw = new Set(keywords(text));
  let best: string | null = null;
  let bestScore = 0;
  for (const f of facts) {
    const score = keywords(factBody(f)).filter((w) => kw.has(w)).length;
    if (score > bestScore) {
      best = f;
      bestScore = score;
    }
  }
  return best;
}

/** A natural question about a fact ("Training for the Boston marathon" → "How's the Boston marathon training going?"). */
export function factQuestion(fact: string): string {
  const body = factBody(fact);
  const b = toSecondPerson(body);
  let m = /^(?:you(?:'re| are)\s+)?training for (?:the |a )?(.+)$/i.exec(b);
  if (m) return `How's the ${m[1]!.replace(/\s+(?:in|on|by|next|this|at|for)\s+.*$/i, "")} training going?`;
  m = /^(?:you(?:'re| are)\s+)?(?:learning|studying|practicing|practising) (.+)$/i.exec(b);
  if (m) return `How's the ${m[1]} coming along?`;
  m = /^(?:you\s+)?work(?:s)? (?:as|at|for) (.+)$/i.exec(b);
  if (m) return `How are things at work${/^an? /i.test(m[1]!) ? "" : ` at ${m[1]}`}?`;
  m = /^(?:your|has an?|has) (wife|husband|daughter|son|kids?|partner|mom|dad|sister|brother|dog|cat)\b(.*)$/i.exec(b);
  if (m) return `How's your ${m[1]!.toLowerCase()} doing?`;
  m = /^(?:you(?:'re| are)\s+)?(?:going to|planning to|about to) (.+)$/i.exec(b);
  if (m) return `Are you still planning to ${m[1]}?`;
  m = /^(?:your )?goal(?: is)?:?\s*(?:to )?(.+)$/i.exec(b);
  if (m) return `How's it going with your goal to ${m[1]}?`;
  m = /^(?:you\s+)?(?:love|loves|like|likes|enjoy|enjoys) (.+)$/i.exec(b);
  if (m) return `Have you had time for ${m[1]} lately?`;
  const short = b.split(/\s+/).slice(0, 8).join(" ");
  return `Last time you mentioned ${short.charAt(0).toLowerCase()}${short.slice(1)} — how's that going?`;
}

const POSITIVE = /\b(great|good|awesome|amazing|love|loved|excited|happy|nailed|crushed|won|fun|fantastic|better|finished|proud|booked)\b/i;
const NEGATIVE = /\b(tired|bad|stress|sad|hard|rough|sick|injur|hurt|sore|pain|ache|worried|anxious|exhausted|lonely|awful|terrible|struggl|lost|failed|busy|crazy|hectic|swamped|overwhelm)\w*/i;

function reaction(style: Persona["style"], text: string, seed: string): string {
  if (NEGATIVE.test(text)) {
    return pick(
      style === "coach"
        ? ["Okay, that's tough, but you've handled worse.", "Hey, rough patches happen — we adjust and keep moving."]
        : ["Oh no, I'm sorry — that sounds like a lot.", "Ugh, that sounds really hard.", "Aw, that's rough."],
      seed,
    );
  }
  if (POSITIVE.test(text)) {
    return pick(
      style === "coach"
        ? ["That's what I'm talking about!", "Yes! Love that energy.", "Now that's progress!"]
        : style === "creative"
          ? ["Ooh, I love that!", "Oh, that's so cool!"]
          : ["That's great to hear!", "Oh, that's wonderful!", "Nice, I love that!"],
      seed,
    );
  }
  return pick(
    style === "coach" ? ["Got it.", "Alright, I hear you.", "Okay."] : style === "creative" ? ["Oh, interesting!", "Huh, tell me more!", "Ooh."] : ["Mm, I hear you.", "Oh yeah?", "Got it."],
    seed,
  );
}

function followUp(style: Persona["style"], seed: string): string {
  return pick(
    style === "coach"
      ? ["What's the next step?", "What are you going to do about it this week?", "How are you feeling about it?"]
      : style === "creative"
        ? ["What got you into that?", "What's the most surprising part?", "Where do you think it goes from here?"]
        : ["How are you feeling about it?", "What's been the best part?", "How's the rest of your week looking?"],
    seed,
  );
}

const PAST_CALL = /\b(last (?:time|call|week|month|night|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(?:earlier|previous|other) (?:call|day|conversation)|what did (?:we|i|you) (?:talk|say|discuss|chat)|did we talk|we talked about|remember (?:when|what|our)|do you remember)\b/i;
const GOODBYE_USER = /\b(good ?bye|bye|gotta go|have to go|need to go|talk (?:to you )?later|hang up|that's all for today)\b/i;
const WRAP_UP = /\b(wrap(?:ping)? up|say goodbye|end the call|ending the call|time is (?:almost )?up|minutes? (?:left|remaining)|seconds? (?:left|remaining)|call (?:will )?end|out of time|conclude the call)\b/i;

function lastIndex<T>(arr: T[], pred: (x: T) => boolean): number {
  for (let i = arr.length - 1; i >= 0; i--) if (pred(arr[i]!)) return i;
  return -1;
}

/** Picks the search-like tool to call for a past-call question, honouring `tool_choice`. */
function chooseTool(tools: ToolDef[], choice: ToolChoice): ToolDef | null {
  if (tools.length === 0 || choice === "none") return null;
  if (typeof choice === "object") return tools.find((t) => t.name === choice.name) ?? null;
  return tools.find((t) => /search|past|previous|history|memor|recall|lookup|calls?/i.test(t.name)) ?? (choice === "required" ? tools[0]! : null);
}

/** Arguments for `tool` from its JSON schema: a query-like string gets the user's words. */
function toolArguments(tool: ToolDef, userText: string): string {
  const props = (tool.parameters.properties ?? {}) as Record<string, { type?: unknown; enum?: unknown[] }>;
  const required = Array.isArray(tool.parameters.required) ? (tool.parameters.required as string[]) : Object.keys(props);
  const query = keywords(userText).join(" ") || userText;
  const args: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(props)) {
    const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    if (/query|search|text|topic|question|q$|keywords?/i.test(name)) args[name] = query;
    else if (!required.includes(name)) continue;
    else if (Array.isArray(schema.enum) && schema.enum.length > 0) args[name] = schema.enum[0];
    else if (t === "integer" || t === "number") args[name] = /limit|count|max|top|k$/i.test(name) ? 3 : 0;
    else if (t === "boolean") args[name] = false;
    else if (t === "array") args[name] = [];
    else if (t === "object") args[name] = {};
    else args[name] = /day|date|when|time/i.test(name) ? (/\b(mon|tues|wednes|thurs|fri|satur|sun)day\b/i.exec(userText)?.[0] ?? "") : query;
  }
  return JSON.stringify(args);
}

/** The gist of a tool result, for the spoken answer. */
function toolGist(content: string): string {
  const pickText = (v: unknown): string | null => {
    if (typeof v === "string") return v;
    if (Array.isArray(v)) {
      for (const x of v) {
        const t = pickText(x);
        if (t) return t;
      }
      return null;
    }
    if (typeof v === "object" && v !== null) {
      const o = v as Record<string, unknown>;
      for (const k of ["summary", "text", "content", "snippet", "topics", "result", "results", "calls", "matches", "items"]) {
        if (k in o) {
          const t = pickText(o[k]);
          if (t) return t;
        }
      }
    }
    return null;
  };
  let gist: string | null = null;
  try {
    gist = pickText(JSON.parse(content) as unknown);
  } catch {
    gist = content;
  }
  gist = (gist ?? "").replace(/\s+/g, " ").trim();
  const first = /^(.{10,160}?[.!?])(\s|$)/.exec(gist)?.[1] ?? gist.slice(0, 160);
  return first.replace(/[.!?]+$/, "");
}

function lcFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) && !/^I\b/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

/** Generates the assistant's next turn. */
export function generateReply(messages: ChatMessage[], tools: ToolDef[] = [], toolChoice: ToolChoice = "auto"): Generated {
  const firstSystemIdx = messages.findIndex((m) => m.role === "system" || m.role === "developer");
  const systemText = messages.filter((m) => m.role === "system" || m.role === "developer").map((m) => m.content).join("\n");
  const persona = readPersona(messages[firstSystemIdx]?.content ?? systemText);
  persona.facts.push(...readPersona(systemText).facts.filter((f) => !persona.facts.includes(f)));
  const lastUserIdx = lastIndex(messages, (m) => m.role === "user");
  const last = messages[messages.length - 1];
  const userText = lastUserIdx >= 0 ? messages[lastUserIdx]!.content.trim() : "";
  const turn = messages.filter((m) => m.role === "assistant").length;
  const seed = `${persona.name}|${turn}|${userText}`;
  const hi = persona.userName ? ` ${persona.userName}` : "";

  // After a tool result: answer from it.
  if (last?.role === "tool") {
    const gist = toolGist(last.content);
    if (!gist) return { kind: "text", content: "Hmm, I couldn't find that in our past calls. Remind me what it was about?" };
    return {
      kind: "text",
      content: `${pick(["Oh right,", "Yes! I remember —", "Right, so"], seed)} ${lcFirst(gist)}. ${pick(["How did that turn out?", "Any update on that?", "Want to pick that back up?"], seed)}`,
    };
  }

  // Wrap-up instruction (a system/developer message after the first) or the user saying goodbye.
  const lateInstruction = messages.slice(firstSystemIdx + 1).some((m, i) => (m.role === "system" || m.role === "developer" || (m.role === "user" && i + firstSystemIdx + 1 === lastUserIdx)) && WRAP_UP.test(m.content));
  if (lateInstruction || (userText && GOODBYE_USER.test(userText) && userText.length < 80)) {
    return {
      kind: "text",
      content: pick(
        persona.style === "coach"
          ? [`Alright${hi}, that's time. Proud of you — talk soon!`, `Okay${hi}, I'll let you go. Keep it up, bye!`]
          : [`I'll let you go${hi}. It was really good talking to you — bye!`, `Okay${hi}, talk soon. Take care, bye!`],
        seed,
      ),
    };
  }

  // Greeting turn: nothing said by the user yet.
  if (lastUserIdx < 0 || (userText === "" && turn === 0)) {
    const opener = pick([`Hey${hi}! It's ${persona.name}.`, `Hi${hi}, it's ${persona.name}!`, `Hey${hi}, ${persona.name} here.`], `${persona.name}|greet`);
    const hook = persona.facts.length > 0 ? factQuestion(persona.facts[0]!) : pick(["How's your day going?", "How are you doing today?", "Got a minute to catch up?"], `${persona.name}|hook`);
    return { kind: "text", content: `${opener} ${hook}` };
  }

  // A question about an earlier call: look it up if a search tool is offered.
  const tool = chooseTool(tools, toolChoice);
  if (tool && (PAST_CALL.test(userText) || toolChoice === "required" || typeof toolChoice === "object")) {
    return { kind: "tool_call", name: tool.name, arguments: toolArguments(tool, userText) };
  }

  if (userText.replace(/[^\p{L}\p{N}]/gu, "").length === 0) {
    return { kind: "text", content: "Sorry, you cut out for a second — what was that?" };
  }

  const phrase = keyPhrase(userText);
  const fact = relatedFact(persona.facts, userText) ?? (turn <= 1 && persona.facts.length > 0 && !userText.includes("?") ? persona.facts[0]! : null);
  const parts: string[] = [reaction(persona.style, userText, seed)];
  if (userText.trim().endsWith("?")) {
    const subject = phrase ? `, ${lcFirst(phrase).replace(/\?$/, "")}` : "";
    parts.push(
      pick(
        [`Good question${subject} — honestly, I think you already know the answer.`, `Hmm${subject} — I'd say go with your gut on that one.`, `Ooh${subject} — I'd keep it simple and take it one step at a time.`],
        seed,
      ),
    );
  } else if (phrase) {
    const p = lcFirst(phrase);
    const echoes = NEGATIVE.test(userText)
      ? [`So ${p}… that's a lot to carry.`, `Wait, ${p} — what happened?`]
      : POSITIVE.test(userText)
        ? [`So ${p} — that's a big deal.`, `I love that ${p}.`]
        : [`Wait, ${p} — tell me more.`, `Hmm, so ${p}.`];
    parts.push(pick(echoes, seed + "|echo"));
  }
  parts.push(fact ? factQuestion(fact) : followUp(persona.style, seed));
  return { kind: "text", content: parts.join(" ") };
}
