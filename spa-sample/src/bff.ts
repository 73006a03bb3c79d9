// The only module that knows the gateway's browser contract:
//   GET /bff/user (with X-CSRF: 1)      -> 200 user | 401 Problem Details; slides the session
//   GET /bff/user?slide=false           -> the same, without extending the session (a check, not activity)
//   GET /bff/events (with X-CSRF: 1)    -> the session's event stream: see session-events.ts
//   GET /bff/login?returnUrl=/path      -> full-page navigation to the provider
//   ...&prompt=none (silent sign-in)    -> back to /path signed in, or to /path?bff_login=none without a session
//   logoutUrl from /bff/user            -> full-page navigation that ends the session
//   /api/**  (with X-CSRF: 1)           -> proxied with the user's token; 401 = session gone
//   401 step_up_required + loginUrl     -> this call needs a stronger or more recent sign-in: navigate to loginUrl
//                                          (X-Bff-Return-Url on each call says where that sign-in comes back to)
// The page never sees a token: the session cookie is HttpOnly and the gateway keeps the tokens.

export interface Claim {
  type: string;
  value: string;
}

export interface BffUser {
  claims: Claim[];
  sessionExpiresAt: string | null;
  logoutUrl: string;
}

/** A readable failure, built from the gateway's or the API's Problem Details body when there is one. */
export interface BffError {
  kind: 'error';
  status: number;
  message: string;
  code?: string;
}

export type ApiResult<T> =
  | { kind: 'ok'; status: number; body: T }
  | { kind: 'signed-out' }
  | { kind: 'step-up'; loginUrl: string }
  | BffError;

export type UserResult = { kind: 'signed-in'; user: BffUser } | { kind: 'signed-out' } | BffError;

export interface BffClientOptions {
  /** Injected for tests; defaults to the browser's fetch. */
  fetch?: typeof fetch;
  /** Called when an API call answers 401: the gateway session has ended (expired, logged out elsewhere). */
  onSignedOut?: () => void;
  /**
   * Called when an API call answers 401 step_up_required: the session is fine, but this call needs a stronger or more
   * recent sign-in. Defaults to a full-page navigation to the gateway's loginUrl (only ever a /bff/login URL).
   */
  onStepUp?: (loginUrl: string) => void;
  /** The page a step-up sign-in brings the user back to (sent as X-Bff-Return-Url); defaults to the current page. */
  returnUrl?: () => string;
}

/** The header that tells the gateway where a step-up sign-in should return to. */
export const RETURN_URL_HEADER = 'X-Bff-Return-Url';

interface ProblemDetails {
  type?: unknown;
  title?: unknown;
  detail?: unknown;
  status?: unknown;
  error?: unknown;
  error_description?: unknown;
}

export class BffClient {
  readonly #fetch: typeof fetch;
  readonly #onSignedOut: () => void;
  readonly #onStepUp: (loginUrl: string) => void;
  readonly #returnUrl: () => string | undefined;

  constructor(options: BffClientOptions = {}) {
    // Bind: calling an unbound window.fetch throws "Illegal invocation" in browsers.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#onSignedOut = options.onSignedOut ?? (() => {});
    this.#onStepUp = options.onStepUp ?? ((url) => globalThis.location?.assign(url));
    this.#returnUrl = options.returnUrl ?? (() => (globalThis.location ? `${globalThis.location.pathname}${globalThis.location.search}` : undefined));
  }

  /**
   * Asks the gateway who is signed in. Anonymous is an answer, not an error. Like any call it extends the session
   * ("stay signed in"); with `{ slide: false }` it only looks, so checking never keeps a forgotten tab signed in.
   */
  async getUser(options: { slide?: boolean } = {}): Promise<UserResult> {
    const path = options.slide === false ? '/bff/user?slide=false' : '/bff/user';
    const result = await this.#send<unknown>(path, { method: 'GET' });
    if (result.kind === 'step-up') {
      // /bff/user never asks for a step-up; a 401 here means signed out.
      return { kind: 'signed-out' };
    }
    if (result.kind !== 'ok') {
      return result;
    }
    const user = parseUser(result.body);
    return user
      ? { kind: 'signed-in', user }
      : { kind: 'error', status: result.status, message: 'The gateway answered /bff/user with an unexpected body.' };
  }

  /**
   * Calls an API route through the gateway. Adds the CSRF header the gateway requires; a 401 means the
   * session is gone, so the app is told to show "signed out, sign in again"; a 401 step_up_required means the call
   * needs a stronger or more recent sign-in, so the app is sent to the gateway's loginUrl.
   */
  async api<T>(path: string, init: RequestInit = {}): Promise<ApiResult<T>> {
    const result = await this.#send<T>(path, init);
    if (result.kind === 'signed-out') {
      this.#onSignedOut();
    } else if (result.kind === 'step-up') {
      this.#onStepUp(result.loginUrl);
    }
    return result;
  }

  async #send<T>(path: string, init: RequestInit): Promise<ApiResult<T>> {
    if (!isLocalPath(path)) {
      return { kind: 'error', status: 0, message: `Refusing to send a request to "${path}": only same-origin paths are allowed.` };
    }

    const headers = new Headers(init.headers);
    headers.set('X-CSRF', '1');
    if (!headers.has('Accept')) {
      headers.set('Accept', 'application/json');
    }
    const returnUrl = this.#returnUrl();
    if (returnUrl !== undefined && isLocalPath(returnUrl) && !headers.has(RETURN_URL_HEADER)) {
      headers.set(RETURN_URL_HEADER, returnUrl);
    }

    let response: Response;
    try {
      response = await this.#fetch(path, {
        ...init,
        headers,
        credentials: 'same-origin',
        // The gateway answers API calls with 401, never a redirect to the provider; a redirect here is a
        // misconfiguration, and following it cross-origin would only end in an opaque CORS failure.
        redirect: 'manual',
      });
    } catch (error) {
      return { kind: 'error', status: 0, message: `Could not reach the gateway: ${describe(error)}` };
    }

    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      return {
        kind: 'error',
        status: response.status,
        message: 'The gateway answered with a redirect instead of data (is this path routed?).',
      };
    }
    const body = await readBody(response);
    if (response.status === 401) {
      const stepUp = stepUpLoginUrl(body);
      return stepUp ? { kind: 'step-up', loginUrl: stepUp } : { kind: 'signed-out' };
    }

    if (!response.ok) {
      return problemToError(response.status, response.statusText, body);
    }
    return { kind: 'ok', status: response.status, body: body as T };
  }
}

/** The URL of a full-page navigation that signs the user in and brings them back to returnUrl. */
export function loginUrl(returnUrl: string): string {
  return `/bff/login?returnUrl=${encodeURIComponent(isLocalPath(returnUrl) ? returnUrl : '/')}`;
}

/** The query flag the gateway adds to returnUrl when a silent sign-in found no session at the provider. */
export const SILENT_SIGN_IN_FLAG = 'bff_login';

/** A silent sign-in: a top-level navigation (it works with third-party cookies blocked) that never stops at a provider page. */
export function silentLoginUrl(returnUrl: string): string {
  return `${loginUrl(returnUrl)}&prompt=none`;
}

/**
 * Reads the gateway's answer to a silent sign-in from the page's own URL: `declined` when it carries
 * `bff_login=none`, and the URL without that flag (to put back in the address bar and to return to after an
 * interactive sign-in).
 */
export function silentSignInResult(location: { pathname: string; search: string; hash: string }): { declined: boolean; url: string } {
  const params = new URLSearchParams(location.search);
  const declined = params.getAll(SILENT_SIGN_IN_FLAG).includes('none');
  params.delete(SILENT_SIGN_IN_FLAG);
  const search = params.toString();
  return { declined, url: `${location.pathname}${search ? `?${search}` : ''}${location.hash}` };
}

/**
 * The loginUrl of a 401 step_up_required answer, when it is the gateway's own sign-in endpoint; anything else (another
 * error, a URL elsewhere) is not followed.
 */
export function stepUpLoginUrl(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) {
    return undefined;
  }
  const problem = body as { error?: unknown; loginUrl?: unknown };
  return problem.error === 'step_up_required' && typeof problem.loginUrl === 'string' && isGatewayLoginUrl(problem.loginUrl)
    ? problem.loginUrl
    : undefined;
}

/** A URL of the gateway's own sign-in endpoint, /bff/login?… */
export function isGatewayLoginUrl(url: string): boolean {
  return isLocalPath(url) && url.startsWith('/bff/login?');
}

/** The gateway's logoutUrl is followed only when it is the gateway's own logout endpoint. */
export function isGatewayLogoutUrl(url: string): boolean {
  return isLocalPath(url) && (url === '/bff/logout' || url.startsWith('/bff/logout?'));
}

/** A same-origin absolute path: starts with one slash, no scheme, no protocol-relative "//", no backslash. */
export function isLocalPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !path.includes('\\') && !/[\u0000-\u001f]/.test(path);
}

export function parseUser(body: unknown): BffUser | null {
  if (typeof body !== 'object' || body === null) {
    return null;
  }
  const candidate = body as { claims?: unknown; sessionExpiresAt?: unknown; logoutUrl?: unknown };
  if (!Array.isArray(candidate.claims) || typeof candidate.logoutUrl !== 'string') {
    return null;
  }
  const claims = candidate.claims
    .filter(
      (c): c is Claim =>
        typeof c === 'object' && c !== null && typeof (c as Claim).type === 'string' && typeof (c as Claim).value === 'string',
    )
    .map((c) => ({ type: c.type, value: c.value }));
  const sessionExpiresAt = typeof candidate.sessionExpiresAt === 'string' ? candidate.sessionExpiresAt : null;
  return { claims, sessionExpiresAt, logoutUrl: candidate.logoutUrl };
}

/** Turns an error body (RFC 7807 Problem Details, or an OAuth error) into one sentence a person can read. */
export function problemToError(status: number, statusText: string, body: unknown): BffError {
  const problem: ProblemDetails = typeof body === 'object' && body !== null ? (body as ProblemDetails) : {};
  const title = text(problem.title);
  const detail = text(problem.detail) ?? text(problem.error_description);
  const code = text(problem.error);

  const parts = [title, detail].filter((p): p is string => p !== undefined);
  let message = parts.length > 0 ? parts.join(': ') : `The request failed with HTTP ${status}${statusText ? ` ${statusText}` : ''}.`;
  if (code) {
    message += ` (${code})`;
  }
  return code ? { kind: 'error', status, message, code } : { kind: 'error', status, message };
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) {
    return null;
  }
  const contentType = response.headers.get('Content-Type') ?? '';
  const raw = await response.text();
  if (/[/+]json\b/i.test(contentType) && raw.length > 0) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  return raw;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value.trim() : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
