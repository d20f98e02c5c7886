/** Values that test/workers/global-setup.ts provides to the workers project. */
declare module "vitest" {
  interface ProvidedContext {
    /** Bindings that point the Worker at the local Postgres endpoint and vendor emulators. */
    workerEnv: Record<string, string>;
  }
}
export {};
