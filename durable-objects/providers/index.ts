/**
 * `createProviders(config)`: builds the real vendor adapters from plain config (the Durable Object
 * passes its parsed env). Keyless runs use the same adapters pointed at the sandbox emulators by
 * `baseUrl`. Missing keys fail here, with a readable message, not mid-call.
 */
import type { PipelineProviders } from "../pipeline/call-pipeline";
import { DeepgramTranscriber, type DeepgramOptions } from "./deepgram";
import { ElevenLabsSynthesizer, type ElevenLabsOptions } from "./elevenlabs";
import { OpenAICompatibleChatModel, type OpenAICompatibleOptions } from "./openai-compatible";
import type { Clock, ConnectWebSocket } from "./types";

export interface ProvidersConfig {
  /** WebSocket factory for the runtime (`connectWorkerdWebSocket` in the DO). */
  connectWebSocket: ConnectWebSocket;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  clock?: Clock;
  deepgram: Omit<DeepgramOptions, "connectWebSocket" | "clock">;
  elevenlabs: Omit<ElevenLabsOptions, "connectWebSocket" | "clock">;
  /** Primary LLM (Cerebras: baseUrl "https://api.cerebras.ai/v1", model e.g. "gpt-oss-120b", reasoningEffort "low"). */
  llm: Omit<OpenAICompatibleOptions, "fetch">;
  /** Fallback LLM (OpenAI: baseUrl "https://api.openai.com/v1"). */
  fallbackLlm?: Omit<OpenAICompatibleOptions, "fetch">;
}

export class ProviderConfigError extends Error {
  override name = "ProviderConfigError";
}

function required(value: string | undefined, what: string): void {
  if (!value || !value.trim()) throw new ProviderConfigError(`${what} is not configured`);
}

export function createProviders(config: ProvidersConfig): PipelineProviders {
  required(config.deepgram.apiKey, "Deepgram API key (DEEPGRAM_API_KEY)");
  required(config.elevenlabs.apiKey, "ElevenLabs API key (ELEVENLABS_API_KEY)");
  required(config.elevenlabs.voiceId, "ElevenLabs voice id");
  required(config.llm.apiKey, "LLM API key");
  required(config.llm.baseUrl, "LLM base URL");
  required(config.llm.model, "LLM model");
  const transcriber = new DeepgramTranscriber({ ...config.deepgram, connectWebSocket: config.connectWebSocket, clock: config.clock });
  const tts = new ElevenLabsSynthesizer({ ...config.elevenlabs, connectWebSocket: config.connectWebSocket, clock: config.clock });
  const llm = new OpenAICompatibleChatModel({ provider: "cerebras", ...config.llm, fetch: config.fetch });
  const fallbackLlm =
    config.fallbackLlm && config.fallbackLlm.apiKey
      ? new OpenAICompatibleChatModel({ provider: "openai", ...config.fallbackLlm, fetch: config.fetch })
      : undefined;
  return { transcriber, tts, llm, fallbackLlm };
}

export { connectWorkerdWebSocket } from "./workerd-websocket";
export { DeepgramTranscriber } from "./deepgram";
export { ElevenLabsSynthesizer } from "./elevenlabs";
export { OpenAICompatibleChatModel } from "./openai-compatible";
export * from "./types";
