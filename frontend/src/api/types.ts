/**
 * The API's data shapes as the SPA uses them: types inferred from the backend's zod schemas in
 * contracts/ (the source of truth), under the names the SPA's code reads best with.
 */
export type {
  AuthResponse,
  Contact,
  CreatePersonaRequest as PersonaInput,
  ErrorCode as ApiErrorCode,
  ErrorEnvelope,
  LoginRequest as LoginInput,
  Persona,
  PersonaScope,
  PersonaStats,
  PersonaVisibility,
  RegisterRequest as RegisterInput,
  Relationship,
  UpdateProfileRequest as ProfileInput,
  UpdateRelationshipRequest as RelationshipInput,
  User,
  Voice,
} from "../../../contracts";
