/**
 * SPA entry: Pinia, the router, and the API client's auth hooks (bearer token from the auth
 * store; a 401 on an authenticated request signs out locally and returns to /login).
 */
import { createPinia } from "pinia";
import { createApp } from "vue";
import { api } from "./api/client";
import App from "./App.vue";
import { createAppRouter } from "./router";
import { useAuthStore } from "./stores/auth";
import { usePersonasStore } from "./stores/personas";
import "./styles.css";

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
const router = createAppRouter();

const auth = useAuthStore(pinia);
api.configure({
  getToken: () => auth.token,
  onUnauthorized: () => {
    auth.clearSession();
    usePersonasStore(pinia).$reset();
    const current = router.currentRoute.value;
    if (current.meta.requiresAuth) {
      void router.replace({ name: "login", query: { redirect: current.fullPath, expired: "1" } });
    }
  },
});

app.use(router);
void router.isReady().then(() => app.mount("#app"));
