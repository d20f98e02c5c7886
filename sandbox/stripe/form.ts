/**
 * Decodes Stripe's request encoding: `application/x-www-form-urlencoded` bodies and query
 * strings with bracket notation (`metadata[plan]=pro`, `expand[]=latest_charge`,
 * `line_items[0][price_data][unit_amount]=499`) into nested objects and arrays, plus typed
 * readers for the decoded values. It does not coerce types: every leaf stays a string, as on
 * the wire; the readers convert and raise Stripe-shaped parameter errors.
 */
import { invalidParam } from "./errors";

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

/** `a[b][0][c]` → `["a", "b", "0", "c"]`; `a[]` → `["a", ""]`. */
function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key.slice(open))) !== null) parts.push(m[1] ?? "");
  return parts;
}

function isObject(v: FormValue | undefined): v is FormObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Sets `value` at `path` inside `root`, creating objects/arrays on the way. */
function assign(root: FormObject, path: string[], value: string): void {
  let node: FormObject | FormValue[] = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as string;
    const last = i === path.length - 1;
    const nextSeg = path[i + 1];
    const makeChild = (): FormObject | FormValue[] => (nextSeg === "" || (nextSeg !== undefined && /^\d+$/.test(nextSeg)) ? [] : {});
    if (Array.isArray(node)) {
      const idx: number = seg === "" ? node.length : Number(seg);
      if (last) node[idx] = value;
      else {
        const existing: FormValue | undefined = node[idx];
        if (typeof existing === "object" && existing !== null) node = existing;
        else node = node[idx] = makeChild();
      }
    } else {
      if (last) node[seg] = value;
      else {
        const existing: FormValue | undefined = node[seg];
        if (typeof existing === "object" && existing !== null) node = existing;
        else node = node[seg] = makeChild();
      }
    }
  }
}

/** Arrays built from sparse indices (`a[0]`, `a[2]`) are compacted in index order. */
function compact(v: FormValue): FormValue {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact);
  if (isObject(v)) {
    const out: FormObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = compact(x);
    return out;
  }
  return v;
}

/** Parses a form body or query string (`URLSearchParams` decoding, `+` as space). */
export function parseForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(text)) assign(root, splitKey(key), value);
  return compact(root) as FormObject;
}

// ---- typed readers (raise `parameter_invalid_*` errors like Stripe does) ----

export function optString(p: FormObject, key: string, param = key): string | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw invalidParam(param, `Invalid string: ${param}`);
  return v;
}

export function reqString(p: FormObject, key: string, param = key): string {
  const v = optString(p, key, param);
  if (v === undefined || v === "") throw invalidParam(param, `Missing required param: ${param}.`, "parameter_missing");
  return v;
}

export function optInt(p: FormObject, key: string, param = key): number | undefined {
  const v = optString(p, key, param);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidParam(param, `Invalid integer: ${v}`, "parameter_invalid_integer");
  return Number(v);
}

export function optBool(p: FormObject, key: string, param = key): boolean | undefined {
  const v = optString(p, key, param);
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw invalidParam(param, `Invalid boolean: ${v}`);
}

export function optObject(p: FormObject, key: string, param = key): FormObject | undefined {
  const v = p[key];
  if (v === undefined || v === "") return undefined;
  if (!isObject(v)) throw invalidParam(param, `Invalid object: ${param}`);
  return v;
}

export function optArray(p: FormObject, key: string, param = key): FormValue[] | undefined {
  const v = p[key];
  if (v === undefined || v === "") return undefined;
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  throw invalidParam(param, `Invalid array: ${param}`);
}

export function optStringArray(p: FormObject, key: string, param = key): string[] | undefined {
  const arr = optArray(p, key, param);
  if (arr === undefined) return undefined;
  return arr.map((x) => {
    if (typeof x !== "string") throw invalidParam(param, `Invalid array: ${param}`);
    return x;
  });
}

/** `metadata` semantics: values are strings; an empty string on update deletes the key. */
export function mergeMetadata(current: Record<string, string>, p: FormObject): Record<string, string> {
  if (p.metadata === "") return {};
  const m = optObject(p, "metadata");
  if (!m) return current;
  const out = { ...current };
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== "string") throw invalidParam(`metadata[${k}]`, `Invalid metadata value for ${k}: must be a string`);
    if (v === "") delete out[k];
    else out[k] = v;
  }
  if (Object.keys(out).length > 50) throw invalidParam("metadata", "You can specify up to 50 keys in metadata.");
  return out;
}

/** Rejects top-level parameters the endpoint does not know, as Stripe does. */
export function allowOnly(p: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(p)) {
    if (key === "expand") continue;
    if (!allowed.includes(key)) throw invalidParam(key, `Received unknown parameter: ${key}`, "parameter_unknown");
  }
}
