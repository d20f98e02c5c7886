/** drizzle-kit: generates SQL migrations into ./migrations from worker/db/schema.ts. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  schema: "./worker/db/schema.ts",
  out: "./migrations",
  dialect: "postgresql",
});
