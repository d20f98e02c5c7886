/**
 * OpenAPI 3.1 from the same zod schemas the routes validate with. Each route file calls
 * `describeRoute({...})` next to its handler; `buildOpenApiDocument()` turns the registry into a
 * document (request bodies/queries as input JSON Schema, responses as output JSON Schema, the
 * error envelope for every 4xx/5xx). Nothing here affects request handling.
 */
import { z } from "zod";
import { ErrorEnvelope } from "../contracts/common";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

export interface RouteDoc {
  method: HttpMethod;
  /** Hono-style path, e.g. `/api/personas/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** "required" → bearer token needed; "optional" → token changes the answer. */
  auth?: "required" | "optional" | "none";
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status → response schema. */
  responses: Record<number, z.ZodType>;
  /** Error statuses this route can answer with (the envelope). */
  errors?: number[];
}

const registry = new Map<string, RouteDoc>();

/** Add (or replace) a route in the document. */
export function describeRoute(doc: RouteDoc): void {
  registry.set(`${doc.method} ${doc.path}`, doc);
}

export function registeredRoutes(): RouteDoc[] {
  return [...registry.values()];
}

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  delete json.$schema;
  return json;
}

function toOpenApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  400: "Bad request or validation failed",
  401: "Missing, invalid or revoked token",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  429: "Rate limited (see Retry-After)",
  500: "Internal error",
};

export function buildOpenApiDocument(info: { title?: string; version?: string; serverUrl?: string } = {}) {
  const errorSchema = schemaOf(ErrorEnvelope, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  const routes = registeredRoutes().sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  for (const route of routes) {
    const { path, params } = toOpenApiPath(route.path);
    const parameters: unknown[] = params.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string", format: "uuid" },
    }));
    if (route.query) {
      const q = schemaOf(route.query, "input");
      const props = (q.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries(props)) {
        parameters.push({ name, in: "query", required: required.has(name), schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(route.responses)) {
      responses[status] = {
        description: STATUS_TEXT[Number(status)] ?? "OK",
        content: { "application/json": { schema: schemaOf(schema, "output") } },
      };
    }
    const errors = new Set(route.errors ?? []);
    if (route.body) errors.add(400).add(413).add(415);
    if (route.auth === "required") errors.add(401);
    errors.add(500);
    for (const status of [...errors].sort()) {
      responses[String(status)] = {
        description: STATUS_TEXT[status] ?? "Error",
        content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } },
      };
    }
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))}`,
      responses,
    };
    if (parameters.length > 0) operation.parameters = parameters;
    if (route.body) {
      operation.requestBody = { required: true, content: { "application/json": { schema: schemaOf(route.body, "input") } } };
    }
    if (route.auth === "required") operation.security = [{ bearerAuth: [] }];
    if (route.auth === "optional") operation.security = [{}, { bearerAuth: [] }];
    (paths[path] ??= {})[route.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "Call Me Back API",
      version: info.version ?? "0.1.0",
      description: "AI personas that phone you. Every non-2xx response is the ErrorEnvelope.",
    },
    servers: info.serverUrl ? [{ url: info.serverUrl }] : [],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: { ErrorEnvelope: errorSchema },
    },
  };
}
