/** The persona editor validates like the API's schema, sends a clean body, and shows server field errors. */
import { flushPromises, mount } from "@vue/test-utils";
import { describe, expect, it, vi } from "vitest";
import { CreatePersonaRequest } from "../../../contracts";
import { ApiError } from "../api/client";
import type { PersonaInput, Voice } from "../api/types";
import { LIMITS } from "../lib/validation";
import PersonaForm from "./PersonaForm.vue";

const voices: Voice[] = [
  { id: "pNInz6obpgDQGcFmaJgB", name: "Adam", description: "Deep, confident" },
  { id: "EXAVITQu4vr4xnSDxMaL", name: "Bella", description: "Warm, friendly" },
];

function mountForm(onSave: (input: PersonaInput) => Promise<void> = vi.fn(async () => undefined)) {
  return mount(PersonaForm, { props: { voices, onSave }, attachTo: document.body });
}

describe("PersonaForm", () => {
  it("blocks submit and explains missing name, prompt and voice", async () => {
    const onSave = vi.fn(async () => undefined);
    const wrapper = mountForm(onSave);
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(onSave).not.toHaveBeenCalled();
    expect(wrapper.text()).toContain("Give your persona a name.");
    expect(wrapper.text()).toContain("Describe how this persona talks and behaves.");
    expect(wrapper.text()).toContain("Choose a voice.");
    expect(wrapper.get("#persona-name").attributes("aria-invalid")).toBe("true");
    wrapper.unmount();
  });

  it("rejects too many traits and over-long fields with the contract's limits", async () => {
    const wrapper = mountForm();
    await wrapper.get("#persona-traits").setValue(Array.from({ length: LIMITS.traitsMax + 1 }, (_, i) => `trait${i}`).join(", "));
    await wrapper.get("#persona-traits").trigger("blur");
    await wrapper.get("#persona-tagline").setValue("x".repeat(LIMITS.taglineMax + 1));
    await wrapper.get("#persona-tagline").trigger("blur");
    expect(wrapper.text()).toContain(`Use at most ${LIMITS.traitsMax} traits.`);
    expect(wrapper.text()).toContain(`Tagline must be ${LIMITS.taglineMax} characters or fewer.`);
    wrapper.unmount();
  });

  it("submits a trimmed body that the API's schema accepts", async () => {
    const onSave = vi.fn(async (_input: PersonaInput) => undefined);
    const wrapper = mountForm(onSave);
    await wrapper.get("#persona-name").setValue("  Maya  ");
    await wrapper.get("#persona-prompt").setValue("You are Maya, a warm book-club friend. Keep replies short.");
    await wrapper.get("#persona-traits").setValue("warm, witty, , Warm, curious");
    await wrapper.get("input[type=radio][value=EXAVITQu4vr4xnSDxMaL]").setValue(true);
    await wrapper.get("input[type=radio][name=visibility][value=public]").setValue(true);
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(onSave).toHaveBeenCalledTimes(1);
    const input = onSave.mock.calls[0]?.[0];
    expect(input).toMatchObject({ name: "Maya", traits: ["warm", "witty", "curious"], voiceId: "EXAVITQu4vr4xnSDxMaL", visibility: "public", category: "custom" });
    expect(input && "greeting" in input).toBe(false);
    expect(CreatePersonaRequest.safeParse(input).success).toBe(true);
    wrapper.unmount();
  });

  it("puts the server's validation_failed details on the matching fields", async () => {
    const onSave = vi.fn(async () => {
      throw new ApiError(400, "validation_failed", "Invalid body", { issues: [{ path: "traits.0", message: "Too long" }, { path: "name", message: "Name is taken" }] });
    });
    const wrapper = mountForm(onSave);
    await wrapper.get("#persona-name").setValue("Maya");
    await wrapper.get("#persona-prompt").setValue("You are Maya.");
    await wrapper.get("input[type=radio][value=pNInz6obpgDQGcFmaJgB]").setValue(true);
    await wrapper.get("form").trigger("submit");
    await flushPromises();
    expect(wrapper.text()).toContain("Name is taken");
    expect(wrapper.text()).toContain("Too long");
    expect(wrapper.text()).toContain("Please fix the highlighted fields.");
    wrapper.unmount();
  });
});
