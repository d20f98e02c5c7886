/** Prompt composition: order, budget, override, and what the LLM sees as the facts section. */
import { describe, expect, it } from "vitest";
import { composePrompt, estimateTokens, type PromptFact } from "./prompt-builder";

const fact = (id: string, content: string, importance = 3, updated = "2026-11-01T00:00:00Z"): PromptFact => ({
  id,
  category: "other",
  content,
  importance,
  updatedAt: new Date(updated),
});

describe("composePrompt", () => {
  it("puts persona, override, facts (most important first) and recent summaries (newest first) in order", () => {
    const out = composePrompt({
      personaPrompt: "You are Brad, a direct coach.",
      override: "Call me Coach-K's favourite runner.",
      userName: "Alex",
      timezone: "America/New_York",
      facts: [fact("f1", "Likes pizza", 2), fact("f2", "Training for the Boston marathon", 5), fact("f3", "Works as a nurse", 3)],
      summaries: [
        { id: "s1", content: "Talked about the long run.", at: new Date("2026-11-10T15:00:00Z") },
        { id: "s2", content: "Planned the taper.", at: new Date("2026-11-17T15:00:00Z") },
      ],
      maxMemoryTokens: 1000,
    });
    expect(out.factIds).toEqual(["f2", "f3", "f1"]);
    expect(out.summaryIds).toEqual(["s2", "s1"]);
    const p = out.prompt;
    expect(p.indexOf("You are Brad")).toBe(0);
    expect(p).toContain("Call me Coach-K's favourite runner.");
    expect(p).toContain("What you know about Alex (from earlier calls):\n- Training for the Boston marathon\n- Works as a nurse\n- Likes pizza");
    expect(p).toContain("Your recent calls with Alex:\n- Tue, Nov 17: Planned the taper.\n- Tue, Nov 10: Talked about the long run.");
    expect(p).toContain("search_past_calls");
    expect(out.tokens).toBe(estimateTokens(p));
  });

  it("stays within the memory budget, dropping the least relevant lines first", () => {
    const facts = Array.from({ length: 50 }, (_, i) => fact(`f${i}`, `Fact number ${i} about something fairly long and wordy`, i === 7 ? 5 : 1));
    const out = composePrompt({ personaPrompt: "You are Brad.", facts, summaries: [{ id: "s", content: "x", at: new Date() }], maxMemoryTokens: 60 });
    expect(out.memoryTokens).toBeLessThanOrEqual(60);
    expect(out.factIds[0]).toBe("f7");
    expect(out.factIds.length).toBeGreaterThan(1);
    expect(out.factIds.length).toBeLessThan(50);
    const none = composePrompt({ personaPrompt: "You are Brad.", facts, summaries: [], maxMemoryTokens: 0 });
    expect(none.factIds).toEqual([]);
    expect(none.prompt).not.toContain("What you know");
  });
});

describe("forgotten facts", () => {
  it("summaries restating a deleted fact are left out; unrelated ones stay", () => {
    const out = composePrompt({
      personaPrompt: "You are Brad.",
      facts: [],
      summaries: [
        { id: "a", content: "Talked about miles, training, boston marathon.", at: new Date("2026-11-20T00:00:00Z") },
        { id: "b", content: "Talked about the new job at the hospital.", at: new Date("2026-11-19T00:00:00Z") },
      ],
      forgotten: ["Training for the Boston marathon"],
      maxMemoryTokens: 500,
    });
    expect(out.summaryIds).toEqual(["b"]);
    expect(out.prompt).not.toMatch(/marathon/i);
  });

  it("equally important facts: goals and events come before job and preferences", () => {
    const out = composePrompt({
      personaPrompt: "You are Brad.",
      facts: [
        { ...fact("j", "Works as a nurse"), category: "job" },
        { ...fact("g", "Training for the Boston marathon"), category: "goals" },
        { ...fact("p", "Loves pizza"), category: "preferences" },
      ],
      summaries: [],
      maxMemoryTokens: 500,
    });
    expect(out.factIds).toEqual(["g", "j", "p"]);
  });
});
