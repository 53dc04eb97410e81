// The signed-in session: the token, kept in this tab's session storage only,
// and what signing in loads before the report can show.

import { ApiClient, ApiProblem, type Catalog, type ValuesResponse } from "./api";

const TOKEN_KEY = "adhouse.token";

export interface Session {
  client: ApiClient;
  catalog: Catalog;
  sources: ValuesResponse;
}

export const SIGNED_OUT = "You have signed out.";
export const EXPIRED = "Your session ended: the API no longer accepts this token (401). Sign in again.";

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Signs in with `token`, which is kept once the API accepts it; throws what the API answered otherwise. */
export async function openSession(token: string): Promise<Session> {
  const client = new ApiClient(token);
  // The catalog is public; the sources prove the token.
  const [catalog, sources] = await Promise.all([client.catalog(), client.sources()]);
  sessionStorage.setItem(TOKEN_KEY, token);
  return { client, catalog, sources };
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiProblem && error.unauthorized;
}

/** Why signing in failed, for the sign-in form. */
export function signInError(error: unknown): string {
  if (isUnauthorized(error)) {
    return "This API token was not accepted: it is unknown, mistyped or has been revoked. Sign in with a valid token.";
  }
  return `Could not sign in: ${error instanceof Error ? error.message : String(error)}`;
}
