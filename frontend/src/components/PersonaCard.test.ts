/** PersonaCard renders a persona's identity and its favourite state, and emits the user's actions. */
import { mount } from "@vue/test-utils";
import { describe, expect, it } from "vitest";
import { createMemoryHistory, createRouter } from "vue-router";
import { makePersona } from "../test-utils";
import PersonaCard from "./PersonaCard.vue";

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: "/", component: { template: "<div />" } },
      { path: "/personas/:id", name: "persona", component: { template: "<div />" } },
    ],
  });
}

describe("PersonaCard", () => {
  it("shows name, tagline, traits and a pressed star for a favourite", () => {
    const wrapper = mount(PersonaCard, { props: { persona: makePersona({ isFavorite: true }) }, global: { plugins: [router()] } });
    expect(wrapper.text()).toContain("Brad");
    expect(wrapper.text()).toContain("Your no-excuses coach");
    expect(wrapper.findAll("li.chip").map((li) => li.text())).toEqual(["direct", "loyal", "motivating"]);
    const star = wrapper.get("[data-testid=favorite-toggle]");
    expect(star.attributes("aria-pressed")).toBe("true");
    expect(star.attributes("aria-label")).toBe("Remove Brad from favourites");
    expect(wrapper.get("article").attributes("data-favorite")).toBe("true");
  });

  it("shows an unpressed star when not a favourite and emits toggle-favorite on click", async () => {
    const persona = makePersona({ isFavorite: false });
    const wrapper = mount(PersonaCard, { props: { persona }, global: { plugins: [router()] } });
    const star = wrapper.get("[data-testid=favorite-toggle]");
    expect(star.attributes("aria-pressed")).toBe("false");
    expect(star.attributes("aria-label")).toBe("Add Brad to favourites");
    await star.trigger("click");
    expect(wrapper.emitted("toggle-favorite")?.[0]).toEqual([persona]);
  });

  it("offers add-to-contacts until the persona is a contact", async () => {
    const wrapper = mount(PersonaCard, { props: { persona: makePersona() }, global: { plugins: [router()] } });
    const add = wrapper.findAll("button").find((b) => b.text().includes("Add to contacts"));
    expect(add).toBeDefined();
    await add?.trigger("click");
    expect(wrapper.emitted("add-contact")).toHaveLength(1);
    await wrapper.setProps({ persona: makePersona({ isContact: true }) });
    expect(wrapper.text()).toContain("In contacts");
    expect(wrapper.findAll("button").some((b) => b.text().includes("Add to contacts"))).toBe(false);
  });

  it("falls back to the brand colour when the accent colour is not #RRGGBB", () => {
    const wrapper = mount(PersonaCard, { props: { persona: makePersona({ accentColor: "red;background:url(x)" }) }, global: { plugins: [router()] } });
    expect(wrapper.html()).not.toContain("url(x)");
    expect(wrapper.html()).toContain("#7c5cff");
  });
});
