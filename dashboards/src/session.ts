// The signed-in session: the token, kept in this tab's session storage only,
// and what signing in loads before the report can show.

import { ApiClient, type Catalog, type ValuesResponse } from "./api";

const TOKEN_KEY = "adhouse.token";

export interface Session {
  client: ApiClient;
  catalog: Catalog;
  sources: ValuesResponse;
}

export const SIGNED_OUT = "You have signed out.";
export const REFUSED = "This API token was not accepted: it is unknown, mistyped or has been revoked. Sign in with a valid token.";
export const EXPIRED = "Your session ended: the API no longer accepts this token (401). Sign in again.";

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Signs in with `token`, which is kept once the API accepts it; throws what
 * the API answered otherwise. Only a 401 means the token is bad: during an
 * outage the token stays where it is, to be tried again.
 */
export async function openSession(token: string): Promise<Session> {
  const client = new ApiClient(token);
  // The catalog is public; the sources prove the token.
  const [catalog, sources] = await Promise.all([client.catalog(), client.sources()]);
  sessionStorage.setItem(TOKEN_KEY, token);
  return { client, catalog, sources };
}
