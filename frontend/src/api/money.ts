/** Money data shapes (from contracts/money.ts) and the fetchers the billing, budget and usage pages use. */
import type {
  BillingResponse,
  BudgetSettings,
  BudgetSettingsResponse,
  CallCostResponse,
  CostsByPersonaResponse,
  CostSummaryResponse,
  Payment,
  PaymentMethod,
  QuoteResponse,
  UpdateBudgetSettingsRequest,
  UsageResponse,
} from "../../../contracts/money";
import { api } from "./client";

export type { BillingResponse, BudgetSettings, BudgetSettingsResponse, CallCostResponse, CostsByPersonaResponse, CostSummaryResponse, Payment, PaymentMethod, QuoteResponse, UsageResponse };

export const fetchBilling = () => api.get<BillingResponse>("/api/user/billing");
export const fetchPayments = () => api.get<{ payments: Payment[] }>("/api/user/payments").then((r) => r.payments);
export const addTestCard = (paymentMethodId: string) =>
  api.post<{ paymentMethods: PaymentMethod[] }>("/api/user/payment-method", { paymentMethodId, makeDefault: true }).then((r) => r.paymentMethods);
export const setDefaultCard = (id: string) => api.put<{ paymentMethods: PaymentMethod[] }>(`/api/user/payment-method/${encodeURIComponent(id)}/default`).then((r) => r.paymentMethods);
export const removeCard = (id: string) => api.del<{ paymentMethods: PaymentMethod[] }>(`/api/user/payment-method/${encodeURIComponent(id)}`).then((r) => r.paymentMethods);
export const buyCredits = (packId: string) => api.post<{ url: string; sessionId: string }>("/api/user/credits/checkout", { packId });
export const fetchQuote = (minutes: number) => api.get<QuoteResponse>("/api/billing/quote", { query: { minutes } });
export const fetchBudget = () => api.get<BudgetSettingsResponse>("/api/user/budget-settings");
export const saveBudget = (patch: UpdateBudgetSettingsRequest) => api.put<BudgetSettingsResponse>("/api/user/budget-settings", patch);
export const fetchUsage = (days: number) => api.get<UsageResponse>("/api/user/usage", { query: { days } });
export const fetchCostSummary = (days: number) => api.get<CostSummaryResponse>("/api/user/costs/summary", { query: { days } });
export const fetchCostsByPersona = (days: number) => api.get<CostsByPersonaResponse>("/api/user/costs/by-persona", { query: { days } });
export const fetchCallCost = (callId: string) => api.get<CallCostResponse>(`/api/calls/${encodeURIComponent(callId)}/cost`);
