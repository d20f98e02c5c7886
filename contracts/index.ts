/** The HTTP contract between the Worker and the SPA: zod schemas + inferred types (see /api/openapi.json). */
export * from "./common";
export * from "./auth";
export * from "./personas";
export * from "./calls";
