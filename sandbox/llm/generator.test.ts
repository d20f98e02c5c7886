/**
 * Unit tests for the LLM emulator's deterministic reply generator, fact extraction, schema filling
 * and tokenizer (pure functions, no server).
 */
import { describe, expect, it } from "vitest";
import { extractFacts, fillSchema } from "./extract";
import { factQuestion, generateReply, keyPhrase, readPersona } from "./generator";
import { countTokens, pieces, truncateToTokens } from "./tokens";

const text = (g: ReturnType<typeof generateReply>) => (g.kind === "text" ? g.content : `tool:${g.name}`);

describe("reply generator", () => {
  it("reads persona, user name, style and facts from the system prompt", () => {
    const p = readPersona("You are Sarah, an empathetic friend talking to Jordan.\n\nFacts about Jordan:\n- Learning Spanish\n- **Family:** has a dog named Biscuit\n\nRules:\n- be brief");
    expect(p).toMatchObject({ name: "Sarah", userName: "Jordan", style: "friend" });
    expect(p.facts).toEqual(["Learning Spanish", "Family: has a dog named Biscuit"]);
  });

  it("is deterministic and stays in the persona's voice", () => {
    const msgs = [
      { role: "system", content: "You are Sarah, a caring friend." },
      { role: "user", content: "I started a new pottery class this week and it was so fun" },
    ];
    expect(generateReply(msgs)).toEqual(generateReply(msgs));
    expect(text(generateReply(msgs))).toMatch(/you started a new pottery class/);
    expect(text(generateReply([{ role: "system", content: "You are Sarah, a caring friend." }]))).toMatch(/Sarah/);
  });

  it("asks about facts naturally and paraphrases the user in the second person", () => {
    expect(factQuestion("Training for the Boston marathon in April")).toBe("How's the Boston marathon training going?");
    expect(factQuestion("Has a daughter named Mia")).toBe("How's your daughter doing?");
    expect(keyPhrase("Well, I think my boss finally noticed my work")).toBe("you think your boss finally noticed your work");
  });

  it("handles a garbled turn and a forced tool choice", () => {
    expect(text(generateReply([{ role: "system", content: "You are Alex." }, { role: "assistant", content: "Hi!" }, { role: "user", content: "..." }]))).toMatch(/cut out/);
    const tools = [{ name: "lookup_memory", description: "", parameters: { type: "object", properties: { topic: { type: "string" } }, required: ["topic"] } }];
    const g = generateReply([{ role: "system", content: "You are Alex." }, { role: "user", content: "Tell me about my dog" }], tools, { name: "lookup_memory" });
    expect(g).toEqual({ kind: "tool_call", name: "lookup_memory", arguments: JSON.stringify({ topic: "tell dog" }) });
  });
});

describe("fact extraction and schema filling", () => {
  it("extracts categorised facts from user lines", () => {
    const facts = extractFacts([
      "I'm a teacher at Lincoln High and my wife is Dana.",
      "Haha, our inside joke is the purple penguin.",
      "I have a dentist appointment on Friday. I hate cilantro.",
    ]);
    expect(facts.map((f) => [f.category, f.value])).toEqual([
      ["job", "teacher at Lincoln High"],
      ["family", "Dana"],
      ["inside_jokes", "the purple penguin"],
      ["events", "dentist appointment on Friday"],
      ["preferences", "cilantro"],
    ]);
  });

  it("fills $ref / anyOf / enum / nullable schemas by property name", () => {
    const schema = {
      type: "object",
      $defs: { Fact: { type: "object", properties: { type: { type: "string", enum: ["work", "family", "other"] }, fact: { type: "string" }, confidence: { type: "number", minimum: 0, maximum: 1 } } } },
      properties: {
        title: { type: "string" },
        sentiment: { type: "string", enum: ["positive", "neutral", "negative"] },
        memories: { type: "array", items: { $ref: "#/$defs/Fact" } },
        note: { anyOf: [{ type: "string" }, { type: "null" }] },
        unknown_count: { type: "integer" },
      },
    };
    const out = fillSchema(schema, [{ role: "user", content: "Summarise.\nUser: I love sailing and I work as a pilot.\nAssistant: Nice!\nUser: Yeah it's great." }]);
    expect(out).toMatchObject({ sentiment: "positive", note: "", unknown_count: 0 });
    expect(out.memories).toEqual([
      { type: "other", fact: "Loves sailing", confidence: 0.9 },
      { type: "work", fact: "Works as a pilot", confidence: 0.9 },
    ]);
  });
});

describe("tokenizer", () => {
  it("splits losslessly and counts consistently", () => {
    const s = "Hey, it's Brad!  How's the marathon-training going?";
    expect(pieces(s).join("")).toBe(s);
    expect(countTokens(s)).toBe(pieces(s).reduce((n, p) => n + countTokens(p), 0));
    const cut = truncateToTokens(s, 3);
    expect(cut.truncated).toBe(true);
    expect(countTokens(cut.text)).toBeLessThanOrEqual(3);
  });
});
