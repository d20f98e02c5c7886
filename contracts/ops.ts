/**
 * Operations contract: the admin JSON endpoints (`/api/admin/*`) and the MCP tools' inputs share
 * these zod schemas — calls list with status and latency, one call's timeline, event search, cost
 * aggregation with margin, reconciliation discrepancies. Money is integer micro-dollars; times ms.
 */
import { z } from "zod";
import { CallStatus, TurnLatency } from "./calls";

const IsoDate = z.string().describe("ISO-8601 timestamp");
const Uuid = z.uuid();

/** ISO date or date-time accepted by filters (`2026-11-01`, `2026-11-01T12:00:00Z`). */
export const DateInput = z
  .string()
  .trim()
  .refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), "Use an ISO date, e.g. 2026-11-01 or 2026-11-01T12:00:00Z");

export const ListCallsQuery = z.object({
  status: CallStatus.optional(),
  userId: Uuid.optional(),
  personaId: Uuid.optional(),
  since: DateInput.optional(),
  until: DateInput.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type ListCallsQuery = z.infer<typeof ListCallsQuery>;

export const AdminCall = z.object({
  id: z.string(),
  userId: z.string(),
  userEmailMasked: z.string(),
  personaId: z.string(),
  personaName: z.string(),
  transport: z.enum(["phone", "browser"]),
  status: CallStatus,
  endReason: z.string().nullable(),
  durationS: z.number().int().nullable(),
  costMicros: z.number().int(),
  chargeMicros: z.number().int().nullable(),
  createdAt: IsoDate,
  endedAt: IsoDate.nullable(),
  /** Replies to caller speech with a measured latency (the greeting is not counted). */
  turns: z.number().int(),
  /** Mean / worst response latency: end of caller speech → first reply audio sent, ms. */
  avgLatencyMs: z.number().int().nullable(),
  maxLatencyMs: z.number().int().nullable(),
});
export type AdminCall = z.infer<typeof AdminCall>;
export const AdminCallListResponse = z.object({ calls: z.array(AdminCall) });

export const EventLine = z.object({
  at: IsoDate,
  callId: z.string(),
  type: z.string(),
  service: z.string().nullable(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EventLine = z.infer<typeof EventLine>;

export const TimelineTurn = z.object({
  seq: z.number().int(),
  speaker: z.enum(["user", "assistant", "system"]),
  text: z.string(),
  interrupted: z.boolean(),
  startedAt: IsoDate,
  endedAt: IsoDate.nullable(),
  latency: TurnLatency.nullable(),
});
export type TimelineTurn = z.infer<typeof TimelineTurn>;

export const CallTimelineResponse = z.object({
  call: z.object({
    id: z.string(),
    userId: z.string(),
    personaId: z.string(),
    personaName: z.string(),
    transport: z.enum(["phone", "browser"]),
    toPhoneMasked: z.string().nullable(),
    status: z.string(),
    endReason: z.string().nullable(),
    durationS: z.number().int().nullable(),
    costMicros: z.number().int(),
    chargeMicros: z.number().int().nullable(),
    createdAt: IsoDate,
    answeredAt: IsoDate.nullable(),
    endedAt: IsoDate.nullable(),
  }),
  events: z.array(EventLine),
  turns: z.array(TimelineTurn),
});
export type CallTimelineResponse = z.infer<typeof CallTimelineResponse>;

export const SearchEventsQuery = z.object({
  text: z.string().trim().min(1).max(200).optional(),
  callId: Uuid.optional(),
  service: z.string().trim().min(1).max(40).optional(),
  type: z.string().trim().min(1).max(60).optional(),
  since: DateInput.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type SearchEventsQuery = z.infer<typeof SearchEventsQuery>;
export const SearchEventsResponse = z.object({ events: z.array(EventLine) });

export const CostGroupBy = z.enum(["service", "persona", "day"]);
export type CostGroupBy = z.infer<typeof CostGroupBy>;

export const AggregateCostsQuery = z.object({
  groupBy: CostGroupBy.default("service"),
  /** Start of the period (inclusive); 30 days ago when absent. */
  since: DateInput.optional(),
  /** End of the period (exclusive); now when absent. */
  until: DateInput.optional(),
});
export type AggregateCostsQuery = z.infer<typeof AggregateCostsQuery>;

export const CostRow = z.object({
  key: z.string(),
  costMicros: z.number().int(),
  /** What users were charged for calls in this group (null when revenue does not split this way, e.g. per vendor). */
  revenueMicros: z.number().int().nullable(),
  marginMicros: z.number().int().nullable(),
  events: z.number().int(),
});
export type CostRow = z.infer<typeof CostRow>;

export const AggregateCostsResponse = z.object({
  groupBy: CostGroupBy,
  since: IsoDate,
  until: IsoDate,
  rows: z.array(CostRow),
  totals: z.object({
    costMicros: z.number().int(),
    revenueMicros: z.number().int(),
    marginMicros: z.number().int(),
    /** Margin as basis points of revenue (10000 = 100 %); null without revenue. */
    marginBps: z.number().int().nullable(),
  }),
});
export type AggregateCostsResponse = z.infer<typeof AggregateCostsResponse>;

export const Discrepancy = z.object({
  id: z.string(),
  runDate: z.string(),
  callId: z.string().nullable(),
  service: z.string(),
  ledgerMicros: z.number().int(),
  vendorMicros: z.number().int(),
  diffMicros: z.number().int(),
  createdAt: IsoDate,
  resolvedAt: IsoDate.nullable(),
});
export type Discrepancy = z.infer<typeof Discrepancy>;
export const DiscrepancyListResponse = z.object({ discrepancies: z.array(Discrepancy) });
