/**
 * Routes, the auth guard and page titles. Navigation is derived from route meta: a route with
 * `meta.nav` appears in the app shell's nav (ordered by `nav.order`), so a new section (calls,
 * schedule, history, memory, billing, admin) is one route record with `meta.nav` — and
 * `meta.adminOnly` for admin pages. `requiresAuth` routes send signed-out visitors to /login
 * with a `redirect` back; `guestOnly` routes send signed-in users to their personas.
 */
import { createRouter, createWebHistory } from "vue-router";
import type { Router, RouteRecordRaw, RouterHistory } from "vue-router";
import type { IconName } from "./components/AppIcon.vue";
import { useAuthStore } from "./stores/auth";

declare module "vue-router" {
  interface RouteMeta {
    /** Document title (suffixed with the product name). */
    title?: string;
    requiresAuth?: boolean;
    guestOnly?: boolean;
    adminOnly?: boolean;
    /** "app" renders inside the signed-in shell; "marketing" in the public layout. */
    layout?: "app" | "marketing" | "bare";
    /** Shown in the app navigation when set. */
    nav?: { label: string; icon: IconName; order: number };
  }
}

export const APP_NAME = "Call Me Back";

export const routes: RouteRecordRaw[] = [
  { path: "/", name: "landing", component: () => import("./pages/LandingPage.vue"), meta: { title: "Your AI persona calls you back", layout: "marketing" } },
  { path: "/login", name: "login", component: () => import("./pages/LoginPage.vue"), meta: { title: "Sign in", guestOnly: true, layout: "bare" } },
  { path: "/register", name: "register", component: () => import("./pages/RegisterPage.vue"), meta: { title: "Create your account", guestOnly: true, layout: "bare" } },
  { path: "/signin/workos", name: "signin-workos", component: () => import("./pages/WorkosCallbackPage.vue"), meta: { title: "Signing in", layout: "bare" } },
  {
    path: "/admin/calls",
    name: "admin-calls",
    component: () => import("./pages/admin/AdminCallsPage.vue"),
    meta: { title: "Calls (admin)", requiresAuth: true, adminOnly: true, layout: "app", nav: { label: "Admin", icon: "shield", order: 90 } },
  },
  { path: "/admin/calls/:id", name: "admin-call", component: () => import("./pages/admin/AdminCallPage.vue"), meta: { title: "Call timeline (admin)", requiresAuth: true, adminOnly: true, layout: "app" } },
  { path: "/admin/reconciliation", name: "admin-reconciliation", component: () => import("./pages/admin/AdminReconciliationPage.vue"), meta: { title: "Reconciliation (admin)", requiresAuth: true, adminOnly: true, layout: "app" } },
  {
    path: "/personas",
    name: "personas",
    component: () => import("./pages/PersonasPage.vue"),
    meta: { title: "Personas", requiresAuth: true, layout: "app", nav: { label: "Personas", icon: "sparkles", order: 10 } },
  },
  { path: "/personas/new", name: "persona-new", component: () => import("./pages/PersonaEditorPage.vue"), meta: { title: "New persona", requiresAuth: true, layout: "app" } },
  { path: "/personas/:id", name: "persona", component: () => import("./pages/PersonaDetailPage.vue"), meta: { title: "Persona", requiresAuth: true, layout: "app" } },
  { path: "/personas/:id/edit", name: "persona-edit", component: () => import("./pages/PersonaEditorPage.vue"), meta: { title: "Edit persona", requiresAuth: true, layout: "app" } },
  {
    path: "/contacts",
    name: "contacts",
    component: () => import("./pages/ContactsPage.vue"),
    meta: { title: "Contacts", requiresAuth: true, layout: "app", nav: { label: "Contacts", icon: "users", order: 20 } },
  },
  {
    path: "/schedule",
    name: "schedule",
    component: () => import("./pages/SchedulePage.vue"),
    meta: { title: "Scheduled calls", requiresAuth: true, layout: "app", nav: { label: "Schedule", icon: "clock", order: 30 } },
  },
  {
    path: "/history",
    name: "history",
    component: () => import("./pages/HistoryPage.vue"),
    meta: { title: "Call history", requiresAuth: true, layout: "app", nav: { label: "History", icon: "phone-incoming", order: 40 } },
  },
  { path: "/history/:id", name: "call-detail", component: () => import("./pages/CallDetailPage.vue"), meta: { title: "Call", requiresAuth: true, layout: "app" } },
  {
    path: "/memory/:personaId?",
    name: "memory",
    component: () => import("./pages/MemoryPage.vue"),
    meta: { title: "Memory", requiresAuth: true, layout: "app", nav: { label: "Memory", icon: "brain", order: 50 } },
  },
  { path: "/calls/:id", name: "call-live", component: () => import("./pages/LiveCallPage.vue"), meta: { title: "Live call", requiresAuth: true, layout: "app" } },
  {
    path: "/billing",
    name: "billing",
    component: () => import("./pages/BillingPage.vue"),
    meta: { title: "Billing", requiresAuth: true, layout: "app", nav: { label: "Billing", icon: "lock", order: 60 } },
  },
  { path: "/billing/budget", name: "budget", component: () => import("./pages/BudgetPage.vue"), meta: { title: "Budget", requiresAuth: true, layout: "app" } },
  {
    path: "/usage",
    name: "usage",
    component: () => import("./pages/UsagePage.vue"),
    meta: { title: "Usage & costs", requiresAuth: true, layout: "app", nav: { label: "Usage", icon: "monitor", order: 65 } },
  },
  { path: "/profile", name: "profile", component: () => import("./pages/ProfilePage.vue"), meta: { title: "Profile", requiresAuth: true, layout: "app" } },
  { path: "/:pathMatch(.*)*", name: "not-found", component: () => import("./pages/NotFoundPage.vue"), meta: { title: "Page not found", layout: "marketing" } },
];

/** Nav entries for the signed-in shell, from route meta. */
export function navItems(router: Router, isAdmin: boolean): { name: string; label: string; icon: IconName }[] {
  return router
    .getRoutes()
    .filter((r) => r.meta.nav && typeof r.name === "string" && (!r.meta.adminOnly || isAdmin))
    .sort((a, b) => (a.meta.nav?.order ?? 0) - (b.meta.nav?.order ?? 0))
    .map((r) => ({ name: String(r.name), label: r.meta.nav?.label ?? "", icon: r.meta.nav?.icon ?? "sparkles" }));
}

/** Creates the router with the auth guard and title updates. */
export function createAppRouter(history: RouterHistory = createWebHistory()): Router {
  const router = createRouter({
    history,
    routes,
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  });

  router.beforeEach(async (to) => {
    const auth = useAuthStore();
    if (auth.isAuthenticated) await auth.ensureUser();
    if (to.meta.requiresAuth && !auth.isAuthenticated) {
      return { name: "login", query: to.fullPath !== "/" ? { redirect: to.fullPath } : {} };
    }
    if (to.meta.guestOnly && auth.isAuthenticated) return { name: "personas" };
    if (to.meta.adminOnly && !auth.isAdmin) return { name: "personas" };
    return true;
  });

  router.afterEach((to) => {
    if (typeof document !== "undefined") {
      document.title = to.meta.title ? `${to.meta.title} · ${APP_NAME}` : APP_NAME;
    }
  });

  return router;
}

/** Only same-app paths are allowed as post-login redirects (no open redirect). */
export function safeRedirect(value: unknown): string {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? value : "/personas";
}
