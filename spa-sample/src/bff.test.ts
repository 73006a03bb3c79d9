import { describe, expect, it, vi } from 'vitest';
import { BffClient, isGatewayLogoutUrl, isLocalPath, loginUrl, problemToError, silentLoginUrl, silentSignInResult } from './bff';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fake fetch that records calls and answers with the given responses in order. */
function fakeFetch(...responses: Array<Response | Error>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    const next = responses.shift();
    if (next === undefined) throw new Error('unexpected call');
    if (next instanceof Error) throw next;
    return next;
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

function json(status: number, body: unknown, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': contentType } });
}

const problem = (status: number, extra: Record<string, unknown>) => json(status, { type: 'about:blank', status, ...extra }, 'application/problem+json');

describe('BffClient.api', () => {
  it('adds the CSRF header, keeps the caller headers and sends same-origin credentials', async () => {
    const { fetch, calls } = fakeFetch(json(200, { ok: true }));
    const client = new BffClient({ fetch });

    const result = await client.api('/api/orders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });

    expect(result).toEqual({ kind: 'ok', status: 200, body: { ok: true } });
    const sent = calls[0]!;
    const headers = new Headers(sent.init.headers);
    expect(sent.url).toBe('/api/orders');
    expect(sent.init.method).toBe('POST');
    expect(headers.get('X-CSRF')).toBe('1');
    expect(headers.get('Content-Type')).toBe('application/json');
    expect(headers.get('Accept')).toBe('application/json');
    expect(sent.init.credentials).toBe('same-origin');
    expect(sent.init.redirect).toBe('manual');
  });

  it('cannot be talked out of the CSRF header by the caller', async () => {
    const { fetch, calls } = fakeFetch(json(200, {}));
    await new BffClient({ fetch }).api('/api/x', { headers: { 'X-CSRF': '0' } });
    expect(new Headers(calls[0]!.init.headers).get('X-CSRF')).toBe('1');
  });

  it('turns a 401 into "signed out" and tells the app once', async () => {
    const { fetch } = fakeFetch(problem(401, { title: 'Unauthorized', error: 'unauthenticated' }));
    const onSignedOut = vi.fn();

    const result = await new BffClient({ fetch, onSignedOut }).api('/api/whoami');

    expect(result).toEqual({ kind: 'signed-out' });
    expect(onSignedOut).toHaveBeenCalledTimes(1);
  });

  it('reads title, detail and the stable error code from a Problem Details body', async () => {
    const { fetch } = fakeFetch(problem(502, { title: 'Upstream unavailable', detail: 'The API did not answer.', error: 'upstream_unavailable' }));
    const onSignedOut = vi.fn();

    const result = await new BffClient({ fetch, onSignedOut }).api('/api/whoami');

    expect(result).toEqual({
      kind: 'error',
      status: 502,
      message: 'Upstream unavailable: The API did not answer. (upstream_unavailable)',
      code: 'upstream_unavailable',
    });
    expect(onSignedOut).not.toHaveBeenCalled();
  });

  it('falls back to the status when the error body is not Problem Details', async () => {
    const { fetch } = fakeFetch(new Response('<html>oops</html>', { status: 500, statusText: 'Internal Server Error', headers: { 'Content-Type': 'text/html' } }));
    const result = await new BffClient({ fetch }).api('/api/x');
    expect(result).toEqual({ kind: 'error', status: 500, message: 'The request failed with HTTP 500 Internal Server Error.' });
  });

  it('reports an unreachable gateway as a readable error', async () => {
    const { fetch } = fakeFetch(new TypeError('Failed to fetch'));
    const result = await new BffClient({ fetch }).api('/api/x');
    expect(result).toEqual({ kind: 'error', status: 0, message: 'Could not reach the gateway: Failed to fetch' });
  });

  it('does not treat a redirect as data', async () => {
    const { fetch } = fakeFetch(new Response(null, { status: 302, headers: { Location: 'https://idp.example/authorize' } }));
    const result = await new BffClient({ fetch }).api('/api/x');
    expect(result.kind).toBe('error');
  });

  it.each(['https://evil.example/api', '//evil.example/api', '/\\evil.example', 'api/relative'])('refuses to send to %s', async (path) => {
    const { fetch, calls } = fakeFetch();
    const result = await new BffClient({ fetch }).api(path);
    expect(result.kind).toBe('error');
    expect(calls).toHaveLength(0);
  });
});

describe('BffClient.api and step-up', () => {
  const stepUp = (loginUrl: unknown) => problem(401, { title: 'Unauthorized', error: 'step_up_required', loginUrl });

  it('navigates to the loginUrl of a 401 step_up_required instead of signing the user out', async () => {
    const loginUrl = '/bff/login?returnUrl=%2Fpayments&max_age=300';
    const { fetch } = fakeFetch(stepUp(loginUrl));
    const onSignedOut = vi.fn();
    const onStepUp = vi.fn();

    const result = await new BffClient({ fetch, onSignedOut, onStepUp }).api('/api/recent/whoami');

    expect(result).toEqual({ kind: 'step-up', loginUrl });
    expect(onStepUp).toHaveBeenCalledWith(loginUrl);
    expect(onSignedOut).not.toHaveBeenCalled();
  });

  it('tells the gateway where the step-up sign-in should come back to', async () => {
    const { fetch, calls } = fakeFetch(json(200, {}), json(200, {}));

    await new BffClient({ fetch, returnUrl: () => '/payments?step=2' }).api('/api/x');
    await new BffClient({ fetch, returnUrl: () => '//evil.example/x' }).api('/api/x');

    expect(new Headers(calls[0]!.init.headers).get('X-Bff-Return-Url')).toBe('/payments?step=2');
    expect(new Headers(calls[1]!.init.headers).has('X-Bff-Return-Url')).toBe(false);
  });

  it.each(['https://evil.example/bff/login?x', '//evil.example/bff/login?x', '/bff/logout?sid=1', '/elsewhere', 42, undefined])(
    'never follows a loginUrl that is not the gateway sign-in (%s): the 401 is "signed out"',
    async (loginUrl) => {
      const { fetch } = fakeFetch(stepUp(loginUrl));
      const onSignedOut = vi.fn();
      const onStepUp = vi.fn();

      const result = await new BffClient({ fetch, onSignedOut, onStepUp }).api('/api/x');

      expect(result).toEqual({ kind: 'signed-out' });
      expect(onStepUp).not.toHaveBeenCalled();
      expect(onSignedOut).toHaveBeenCalledTimes(1);
    },
  );
});

describe('BffClient.getUser', () => {
  it('returns the user from /bff/user and asks with the CSRF header', async () => {
    const body = {
      claims: [
        { type: 'sub', value: 'alice' },
        { type: 'name', value: 'Alice Smith' },
      ],
      sessionExpiresAt: '2030-01-01T10:00:00Z',
      logoutUrl: '/bff/logout?sid=abc',
    };
    const { fetch, calls } = fakeFetch(json(200, body));

    const result = await new BffClient({ fetch }).getUser();

    expect(result).toEqual({ kind: 'signed-in', user: body });
    expect(calls[0]!.url).toBe('/bff/user');
    expect(new Headers(calls[0]!.init.headers).get('X-CSRF')).toBe('1');
  });

  it('only looks, without extending the session, when asked not to slide', async () => {
    const { fetch, calls } = fakeFetch(json(200, { claims: [], sessionExpiresAt: null, logoutUrl: '/bff/logout?sid=abc' }));

    await new BffClient({ fetch }).getUser({ slide: false });

    expect(calls[0]!.url).toBe('/bff/user?slide=false');
    expect(new Headers(calls[0]!.init.headers).get('X-CSRF')).toBe('1');
  });

  it('treats 401 as signed out without raising the signed-out event', async () => {
    const { fetch } = fakeFetch(problem(401, { error: 'unauthenticated' }));
    const onSignedOut = vi.fn();

    const result = await new BffClient({ fetch, onSignedOut }).getUser();

    expect(result).toEqual({ kind: 'signed-out' });
    expect(onSignedOut).not.toHaveBeenCalled();
  });

  it('rejects a body that is not the user contract', async () => {
    const { fetch } = fakeFetch(json(200, { user: 'alice' }));
    const result = await new BffClient({ fetch }).getUser();
    expect(result.kind).toBe('error');
  });
});

describe('URLs', () => {
  it('builds the login URL with an encoded local return URL', () => {
    expect(loginUrl('/orders?id=1&x=a b#top')).toBe('/bff/login?returnUrl=%2Forders%3Fid%3D1%26x%3Da%20b%23top');
  });

  it('builds a silent login URL that asks the provider not to show a page', () => {
    expect(silentLoginUrl('/orders?id=1')).toBe('/bff/login?returnUrl=%2Forders%3Fid%3D1&prompt=none');
    expect(silentLoginUrl('//evil.example/')).toBe('/bff/login?returnUrl=%2F&prompt=none');
  });

  it('reads a declined silent sign-in from the URL and removes the flag', () => {
    expect(silentSignInResult({ pathname: '/orders', search: '?tab=2&bff_login=none', hash: '#top' })).toEqual({
      declined: true,
      url: '/orders?tab=2#top',
    });
    expect(silentSignInResult({ pathname: '/', search: '?bff_login=none', hash: '' })).toEqual({ declined: true, url: '/' });
    expect(silentSignInResult({ pathname: '/orders', search: '?tab=2', hash: '' })).toEqual({ declined: false, url: '/orders?tab=2' });
  });

  it('never asks the gateway to return somewhere else', () => {
    expect(loginUrl('https://evil.example/')).toBe('/bff/login?returnUrl=%2F');
    expect(loginUrl('//evil.example/')).toBe('/bff/login?returnUrl=%2F');
  });

  it('follows only the gateway logout endpoint', () => {
    expect(isGatewayLogoutUrl('/bff/logout?sid=123')).toBe(true);
    expect(isGatewayLogoutUrl('https://idp.example/logout')).toBe(false);
    expect(isGatewayLogoutUrl('/bff/logoutx')).toBe(false);
    expect(isGatewayLogoutUrl('//bff/logout')).toBe(false);
  });

  it('knows a local path', () => {
    expect(isLocalPath('/a')).toBe(true);
    expect(isLocalPath('/a\nb')).toBe(false);
  });
});

describe('problemToError', () => {
  it('uses the OAuth error_description when there is no detail', () => {
    expect(problemToError(400, 'Bad Request', { error: 'invalid_grant', error_description: 'The refresh token is no longer valid.' })).toEqual({
      kind: 'error',
      status: 400,
      message: 'The refresh token is no longer valid. (invalid_grant)',
      code: 'invalid_grant',
    });
  });
});
