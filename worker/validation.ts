/**
 * Request validation: `validate(target, schema)` wraps `@hono/zod-validator` with one shared
 * hook. Body/query failures become `400 validation_failed` with `details.issues` (field paths);
 * a malformed path parameter (e.g. a non-UUID id) becomes `404 not_found`, since no resource
 * can have that id.
 */
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import type { ValidationIssue } from "../contracts/common";
import { AppError } from "./errors";

interface HookResult {
  success: boolean;
  error?: unknown;
  target: keyof ValidationTargets;
}

/** Flatten zod issues to `{ path, message }` (paths dotted, e.g. `traits.2`). */
export function toIssues(error: unknown): ValidationIssue[] {
  const issues = (error as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return [{ path: "", message: "Invalid request" }];
  return issues.slice(0, 50).map((raw: unknown) => {
    const issue = raw as { path?: unknown; message?: unknown };
    const path = Array.isArray(issue.path) ? issue.path.map((p) => String(p)).join(".") : "";
    return { path, message: typeof issue.message === "string" ? issue.message : "Invalid value" };
  });
}

export function validationHook(result: HookResult): void {
  if (result.success) return;
  if (result.target === "param") throw new AppError("not_found", "Not found");
  const issues = toIssues(result.error);
  const first = issues[0];
  const message = first ? (first.path ? `${first.path}: ${first.message}` : first.message) : "Invalid request";
  throw new AppError("validation_failed", message, { details: { issues } });
}

/** `zValidator` with the shared error hook. */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, validationHook);
}
