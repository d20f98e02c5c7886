/** The ElevenLabs voices the product offers for personas (premade voice ids). */
import type { Voice } from "../../contracts/personas";

export const VOICES: readonly Voice[] = [
  { id: "pNInz6obpgDQGcFmaJgB", name: "Adam", description: "Deep, confident American male" },
  { id: "EXAVITQu4vr4xnSDxMaL", name: "Sarah", description: "Soft, warm American female" },
  { id: "ErXwobaYiN019PkySvjV", name: "Antoni", description: "Well-rounded, upbeat American male" },
  { id: "21m00Tcm4TlvDq8ikWAM", name: "Rachel", description: "Calm, clear American female" },
  { id: "TxGEqnHWrfWFTfGW9XjX", name: "Josh", description: "Young, energetic American male" },
  { id: "MF3mGyEYCl7XYWbV9V3O", name: "Elli", description: "Bright, friendly American female" },
];
