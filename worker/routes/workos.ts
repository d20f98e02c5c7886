/**
 * /auth/workos: the browser side of "Sign in with WorkOS".
 * - `GET /auth/workos/login?redirect=/path` sets the signed, HttpOnly, 10-minute sign-in cookie
 *   (nonce, state, PKCE verifier) and redirects to AuthKit's authorize page.
 * - `GET /auth/workos/callback?code&state` checks cookie + state, redeems the code with the PKCE
 *   verifier, verifies WorkOS's access token against its JWKS, links or creates our user and
 *   issues OUR session token (as password login does). The token is handed to the SPA in the URL
 *   fragment of `/signin/workos#token=…` (fragments never reach servers or access logs).
 * Any failure (forged/missing state, expired attempt, denied, bad code or token) clears the cookie
 * and redirects to `/login?sso_error=<reason>`; nothing is signed in.
 */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createDb } from "../db/client";
import { parseEnv } from "../env";
import { AppError } from "../errors";
import { issueToken } from "../services/auth";
import {
  SIGN_IN_COOKIE,
  SIGN_IN_TTL_MS,
  SignInError,
  beginSignIn,
  checkState,
  exchangeCode,
  linkUser,
  readSignInCookie,
  type SignInFailure,
} from "../services/workos";
import type { AppEnv } from "../types";

const COOKIE_PATH = "/auth/workos";

function failure(reason: SignInFailure): string {
  return `/login?sso_error=${reason}`;
}

export const workos = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    const config = parseEnv(c.env);
    c.set("config", config);
    c.set("db", createDb(config));
    await next();
  })
  .get("/login", async (c) => {
    const config = c.var.config;
    try {
      const start = await beginSignIn(config, { returnTo: c.req.query("redirect"), loginHint: c.req.query("login_hint") });
      setCookie(c, SIGN_IN_COOKIE, start.cookie, {
        path: COOKIE_PATH,
        httpOnly: true,
        secure: config.publicBaseUrl.startsWith("https:"),
        sameSite: "Lax",
        maxAge: Math.floor(SIGN_IN_TTL_MS / 1000),
      });
      c.var.log.info("workos sign-in started");
      c.header("Cache-Control", "no-store");
      return c.redirect(start.authorizeUrl, 302);
    } catch (err) {
      if (err instanceof SignInError) return c.redirect(failure(err.reason), 302);
      throw err;
    }
  })
  .get("/callback", async (c) => {
    const config = c.var.config;
    const raw = getCookie(c, SIGN_IN_COOKIE);
    deleteCookie(c, SIGN_IN_COOKIE, { path: COOKIE_PATH, secure: config.publicBaseUrl.startsWith("https:") });
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    try {
      const attempt = await readSignInCookie(config, raw);
      await checkState(config, attempt, c.req.query("state"));
      const error = c.req.query("error");
      if (error) throw new SignInError("denied", `WorkOS returned ${error.slice(0, 40)}`);
      const code = c.req.query("code");
      if (!code) throw new SignInError("exchange_failed", "The callback carried no code");
      const profile = await exchangeCode(config, code, attempt.verifier);
      const user = await linkUser(c.var.db, profile);
      const { token } = await issueToken(c.var.db, config, user, "workos");
      c.var.log.info("workos sign-in", { userId: user.id, outcome: user.outcome });
      const fragment = new URLSearchParams({ token, redirect: attempt.returnTo });
      return c.redirect(`/signin/workos#${fragment.toString()}`, 302);
    } catch (err) {
      if (err instanceof SignInError) {
        c.var.log.warn("workos sign-in refused", { reason: err.reason, detail: err.message });
        return c.redirect(failure(err.reason), 302);
      }
      if (err instanceof AppError && err.code === "conflict") {
        c.var.log.warn("workos sign-in refused", { reason: "conflict" });
        return c.redirect(failure("exchange_failed"), 302);
      }
      throw err;
    }
  });
