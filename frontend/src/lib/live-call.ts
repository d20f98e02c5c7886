/**
 * The live call view's state and how each `LiveEvent` (contracts/calls.ts) changes it. Pure:
 * `applyLiveEvent(state, event)` returns the next state, so the SSE composable, reconnects
 * (a fresh `snapshot` replaces everything) and tests share one set of rules.
 */
import { ACTIVE_CALL_STATUSES, LiveEvent } from "../../../contracts/calls";
import type { Call, CallEndReason, CallStatus, CallTurn } from "../../../contracts/calls";

export type Speaking = "persona" | "caller" | "none";

export interface LiveCallState {
  call: Call | null;
  /** Finished turns, ordered by `seq`. */
  turns: CallTurn[];
  speaking: Speaking;
  /** What the caller is saying right now (interim transcript), or "". */
  interim: string;
  cost: { totalMicros: number; byService: Record<string, number> } | null;
  notices: string[];
  ended: { status: CallStatus; reason: CallEndReason | null; durationS: number | null } | null;
}

export function emptyLiveState(): LiveCallState {
  return { call: null, turns: [], speaking: "none", interim: "", cost: null, notices: [], ended: null };
}

/** Parses one SSE `data:` payload; null when it isn't a valid LiveEvent. */
export function parseLiveEvent(data: string): LiveEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return null;
  }
  const parsed = LiveEvent.safeParse(json);
  return parsed.success ? parsed.data : null;
}

function mergeTurn(turns: CallTurn[], turn: CallTurn): CallTurn[] {
  const rest = turns.filter((t) => t.seq !== turn.seq);
  rest.push(turn);
  return rest.sort((a, b) => a.seq - b.seq);
}

export function isActiveStatus(status: CallStatus): boolean {
  return ACTIVE_CALL_STATUSES.includes(status);
}

export function applyLiveEvent(state: LiveCallState, event: LiveEvent): LiveCallState {
  switch (event.type) {
    case "snapshot": {
      const ended = isActiveStatus(event.call.status) ? null : { status: event.call.status, reason: event.call.endReason, durationS: event.call.durationS };
      return {
        ...state,
        call: event.call,
        turns: [...event.turns].sort((a, b) => a.seq - b.seq),
        speaking: ended ? "none" : event.speaking,
        interim: ended ? "" : state.interim,
        ended,
      };
    }
    case "status": {
      if (!state.call) return state;
      const answeredAt = event.status === "in_progress" && !state.call.answeredAt ? event.at : state.call.answeredAt;
      return { ...state, call: { ...state.call, status: event.status, answeredAt } };
    }
    case "interim":
      return { ...state, interim: event.text };
    case "turn":
      return { ...state, turns: mergeTurn(state.turns, event.turn), interim: event.turn.speaker === "user" ? "" : state.interim };
    case "speaking":
      return { ...state, speaking: event.who };
    case "cost":
      return { ...state, cost: { totalMicros: event.totalMicros, byService: event.byService } };
    case "notice":
      return { ...state, notices: [...state.notices, event.message].slice(-5) };
    case "ended": {
      const call = state.call ? { ...state.call, status: event.status, endReason: event.reason, durationS: event.durationS ?? state.call.durationS } : null;
      return { ...state, call, speaking: "none", interim: "", ended: { status: event.status, reason: event.reason, durationS: event.durationS } };
    }
  }
}

/** Seconds left before the duration limit, from the answer time; null before the call is answered. */
export function secondsRemaining(call: Call | null, nowMs: number): number | null {
  if (!call?.answeredAt) return null;
  const answered = Date.parse(call.answeredAt);
  if (Number.isNaN(answered)) return null;
  return Math.max(0, Math.ceil(call.durationLimitS - (nowMs - answered) / 1000));
}

/** "4:05" from seconds. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const STATUS_LABELS: Record<CallStatus, string> = {
  queued: "Placing the call…",
  initiated: "Dialling…",
  ringing: "Ringing…",
  in_progress: "Connected",
  completed: "Call ended",
  busy: "Line busy",
  no_answer: "No answer",
  failed: "Call failed",
  canceled: "Call canceled",
};

export function statusLabel(status: CallStatus): string {
  return STATUS_LABELS[status];
}

const END_REASONS: Record<CallEndReason, string> = {
  caller_hung_up: "You hung up.",
  persona_hung_up: "They said goodbye.",
  user_ended: "You ended the call.",
  duration_limit: "The call reached its time limit.",
  budget_limit: "The call reached its budget.",
  voicemail: "It went to voicemail.",
  not_answered: "The call wasn't answered.",
  error: "Something went wrong on the line.",
};

export function endReasonLabel(reason: CallEndReason | null): string {
  return reason ? END_REASONS[reason] : "";
}
