import type { Claim } from './bff';

/** Whole seconds until the session ends (never negative), or null when the gateway gave no end. */
export function remainingSeconds(expiresAt: string | null, now: Date): number | null {
  if (expiresAt === null) {
    return null;
  }
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) {
    return null;
  }
  return Math.max(0, Math.floor((end - now.getTime()) / 1000));
}

/** "42s", "29m 05s", "7h 59m 59s". */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => n.toString().padStart(2, '0');
  if (h > 0) {
    return `${h}h ${pad(m)}m ${pad(s)}s`;
  }
  if (m > 0) {
    return `${m}m ${pad(s)}s`;
  }
  return `${s}s`;
}

export function claimValue(claims: readonly Claim[], type: string): string | undefined {
  return claims.find((c) => c.type === type)?.value;
}

/** The friendliest name the claims offer. */
export function displayName(claims: readonly Claim[]): string {
  return (
    claimValue(claims, 'name') ??
    claimValue(claims, 'preferred_username') ??
    claimValue(claims, 'email') ??
    claimValue(claims, 'sub') ??
    'unknown user'
  );
}

/** Where to come back to after signing in: the current path, query and fragment, if it is a local path. */
export function currentReturnUrl(location: { pathname: string; search: string; hash: string }): string {
  const path = `${location.pathname}${location.search}${location.hash}`;
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

/** What the demo API echoes about the access token the gateway attached. */
export interface WhoAmI {
  sub: string;
  name?: string;
  clientId?: string;
  scopes: string[];
  tokenId?: string;
  issuedAt: string;
  expiresAt: string;
  /** "DPoP" when the API checked a proof of the key the token is bound to (RFC 9449), else "Bearer". */
  tokenType?: string;
  /** The thumbprint of that key (public; never the key itself). */
  boundKeyThumbprint?: string;
}

export type TokenChange = 'first' | 'same' | 'refreshed';

/**
 * Compares the token behind two API answers. The page never sees tokens, only what the API says about
 * the one it received: a new issue time means the gateway refreshed the token on the page's behalf.
 */
export function tokenChange(previous: WhoAmI | undefined, next: WhoAmI): TokenChange {
  if (previous === undefined) {
    return 'first';
  }
  const sameId = previous.tokenId !== undefined && previous.tokenId === next.tokenId;
  const sameIssue = previous.issuedAt === next.issuedAt;
  return sameId || (previous.tokenId === undefined && sameIssue) ? 'same' : 'refreshed';
}

export function isWhoAmI(body: unknown): body is WhoAmI {
  if (typeof body !== 'object' || body === null) {
    return false;
  }
  const w = body as Partial<WhoAmI>;
  return typeof w.sub === 'string' && Array.isArray(w.scopes) && typeof w.issuedAt === 'string' && typeof w.expiresAt === 'string';
}
