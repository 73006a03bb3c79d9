import './style.css';
import { BffClient, isGatewayLogoutUrl, loginUrl, silentLoginUrl, silentSignInResult, type BffError, type BffUser } from './bff';
import { currentReturnUrl, displayName, formatDuration, isWhoAmI, remainingSeconds, tokenChange, type WhoAmI } from './session';
import { SessionEvents, endReasonMessage, expiringMessage, type SessionEndReason, type SessionEvent } from './session-events';

const app = document.querySelector<HTMLElement>('#app')!;
let countdown: number | undefined;
let lastToken: WhoAmI | undefined;
let refreshesSeen = 0;
let sessionEvents: SessionEvents | undefined;
let bannerTimer: number | undefined;
const SILENT_SIGN_IN_TRIED = 'bff.silent-sign-in-tried';
const STEP_UP_TRIED = 'bff.step-up-tried';

const bff = new BffClient({
  onSignedOut: () => renderSignedOut('Your session has ended. Sign in again to continue.'),
  onStepUp: stepUp,
  returnUrl: () => currentReturnUrl(window.location),
});

/**
 * The call needs a stronger or more recent sign-in: a full-page navigation to the gateway's loginUrl, which comes back
 * to this page. Once per login URL until a call succeeds, so that a provider that cannot deliver never becomes a loop
 * (the gateway itself refuses such a sign-in with step_up_failed).
 */
function stepUp(loginUrl: string): void {
  if (window.sessionStorage.getItem(STEP_UP_TRIED) === loginUrl) {
    return;
  }
  window.sessionStorage.setItem(STEP_UP_TRIED, loginUrl);
  window.location.assign(loginUrl);
}

void start();

/** Opening the page is activity and slides the session; a check the page makes by itself (slide = false) is not. */
async function start(slide = true): Promise<void> {
  const result = await bff.getUser({ slide });
  switch (result.kind) {
    case 'signed-in':
      renderSignedIn(result.user);
      break;
    case 'signed-out':
      if (trySilentSignIn()) {
        return;
      }
      renderSignedOut();
      break;
    case 'error':
      renderFailure(result);
      break;
  }
}

/**
 * A returning user whose provider session is still alive is signed in without pressing a button: once per tab, so
 * that signing out (or a provider that answers but sets no session) never turns into a loop. False when the page
 * should show "signed out" now.
 */
function trySilentSignIn(): boolean {
  const result = silentSignInResult(window.location);
  if (result.declined) {
    window.sessionStorage.setItem(SILENT_SIGN_IN_TRIED, '1');
    window.history.replaceState(window.history.state, '', result.url);
    return false;
  }
  if (window.sessionStorage.getItem(SILENT_SIGN_IN_TRIED) !== null) {
    return false;
  }
  window.sessionStorage.setItem(SILENT_SIGN_IN_TRIED, '1');
  window.location.assign(silentLoginUrl(currentReturnUrl(window.location)));
  return true;
}

function renderSignedOut(reason?: string): void {
  stopCountdown();
  stopSessionEvents();
  lastToken = undefined;
  refreshesSeen = 0;
  const signIn = el('button', { id: 'sign-in', className: 'primary' }, 'Sign in');
  signIn.addEventListener('click', () => {
    // A full-page navigation: the gateway runs the OIDC flow and sets its cookie on the way back.
    window.location.assign(loginUrl(currentReturnUrl(window.location)));
  });
  app.replaceChildren(
    el('section', { id: 'signed-out', className: 'card' }, [
      el('h2', {}, 'You are signed out'),
      reason ? el('p', { id: 'signed-out-reason', className: 'notice' }, reason) : null,
      el('p', { className: 'muted' }, 'Signing in sends you to the identity provider and back. The gateway keeps the tokens; this page gets only an HttpOnly cookie.'),
      signIn,
    ]),
  );
}

function renderSignedIn(user: BffUser): void {
  const name = displayName(user.claims);
  const remaining = el('strong', { id: 'session-remaining' }, '');
  const banner = el('div', { id: 'session-banner', className: 'banner', hidden: true }, []);
  const apiResult = el('div', { id: 'api-result' }, []);
  const apiError = el('p', { id: 'api-error', className: 'error', hidden: true }, '');
  const callApi = el('button', { id: 'call-api', className: 'primary' }, 'Call the API through the gateway');
  const callAliceOnly = el('button', { id: 'call-alice-only' }, "Call Alice's API");
  const callRecent = el('button', { id: 'call-recent' }, 'Call the API that needs a recent sign-in');
  const signOut = el('button', { id: 'sign-out' }, 'Sign out');

  callApi.addEventListener('click', () => void callWhoAmI(callApi, apiResult, apiError, user, remaining));
  callAliceOnly.addEventListener('click', () => void callWhoAmI(callAliceOnly, apiResult, apiError, user, remaining, '/api/alice-only/whoami'));
  callRecent.addEventListener('click', () => void callWhoAmI(callRecent, apiResult, apiError, user, remaining, '/api/recent/whoami'));
  signOut.addEventListener('click', () => {
    if (isGatewayLogoutUrl(user.logoutUrl)) {
      window.location.assign(user.logoutUrl);
    } else {
      showError(apiError, `The gateway offered an unexpected logout URL (${user.logoutUrl}); not following it.`);
    }
  });

  app.replaceChildren(
    el('section', { id: 'signed-in', className: 'card' }, [
      banner,
      el('h2', {}, ['Signed in as ', el('span', { id: 'user-name' }, name)]),
      el('p', {}, ['Session ends in ', remaining, el('span', { className: 'muted' }, ' (it slides while you use the app; this page warns you before it ends)')]),
      el('div', { className: 'actions' }, [callApi, callAliceOnly, callRecent, signOut]),
      apiError,
      apiResult,
    ]),
    el('section', { className: 'card' }, [
      el('h2', {}, 'Claims the gateway shares with the page'),
      claimsTable(user),
    ]),
  );
  startCountdown(user, remaining);
  listenToSession(user, remaining, banner);
}

/**
 * The session's events (one stream for all tabs, read by one of them): a banner before the session ends ("stay signed
 * in" extends it with an ordinary call), and every tab switches to signed-out together when the session ends,
 * whichever tab or device ended it.
 */
function listenToSession(user: BffUser, remaining: HTMLElement, banner: HTMLElement): void {
  stopSessionEvents();
  sessionEvents = new SessionEvents({
    onEvent: (event: SessionEvent) => {
      switch (event.type) {
        case 'ready':
        case 'extended':
          user.sessionExpiresAt = event.expiresAt;
          startCountdown(user, remaining);
          hideBanner(banner);
          break;
        case 'expiring':
          showBanner(banner, event.expiresAt, event.canExtend, user, remaining);
          break;
      }
    },
    onEnded: (reason: SessionEndReason) => void sessionEnded(reason),
  });
  sessionEvents.start();
}

async function sessionEnded(reason: SessionEndReason): Promise<void> {
  stopSessionEvents();
  if (reason === 'unknown') {
    // Found gone without a reason: perhaps this browser signed in again in another tab. Look, without sliding.
    const result = await bff.getUser({ slide: false });
    if (result.kind === 'signed-in') {
      renderSignedIn(result.user);
      return;
    }
  }
  renderSignedOut(endReasonMessage(reason));
}

function showBanner(banner: HTMLElement, expiresAt: string, canExtend: boolean, user: BffUser, remaining: HTMLElement): void {
  const text = el('span', { id: 'session-banner-text' }, '');
  const tick = () => {
    const left = remainingSeconds(expiresAt, new Date()) ?? 0;
    text.textContent = `${expiringMessage(left)} — `;
  };
  tick();
  stopBannerTimer();
  bannerTimer = window.setInterval(tick, 1000);

  let action: HTMLElement;
  if (canExtend) {
    const stay = el('button', { id: 'stay-signed-in', className: 'primary' }, 'Stay signed in');
    stay.addEventListener('click', () => void (async () => {
      stay.disabled = true;
      // An ordinary /bff/user call is activity: it slides the session. Every tab's stream then says "extended".
      const result = await bff.getUser();
      if (result.kind === 'signed-in') {
        user.sessionExpiresAt = result.user.sessionExpiresAt;
        startCountdown(user, remaining);
        hideBanner(banner);
      } else {
        stay.disabled = false;
      }
    })());
    action = stay;
  } else {
    action = el('span', {}, 'sign in again to continue.');
  }
  banner.replaceChildren(text, action);
  banner.hidden = false;
}

function hideBanner(banner: HTMLElement): void {
  stopBannerTimer();
  banner.hidden = true;
  banner.replaceChildren();
}

function stopBannerTimer(): void {
  if (bannerTimer !== undefined) {
    window.clearInterval(bannerTimer);
    bannerTimer = undefined;
  }
}

function stopSessionEvents(): void {
  stopBannerTimer();
  sessionEvents?.stop();
  sessionEvents = undefined;
}

async function callWhoAmI(button: HTMLButtonElement, target: HTMLElement, error: HTMLElement, user: BffUser, remaining: HTMLElement, path = '/api/whoami'): Promise<void> {
  button.disabled = true;
  error.hidden = true;
  try {
    delete error.dataset.code;
    const result = await bff.api<unknown>(path);
    if (result.kind === 'signed-out') {
      return; // onSignedOut has already switched the page.
    }
    if (result.kind === 'step-up') {
      // stepUp has started the navigation to the provider, unless this very sign-in was just tried.
      showError(error, 'This API needs a recent sign-in. If the provider page does not open, sign out and in again.');
      error.dataset.code = 'step_up_required';
      return;
    }
    if (result.kind === 'error' && result.status === 403 && result.code === 'forbidden') {
      // The gateway's authorization policy refused the call; the API never saw it.
      showError(error, `${displayName(user.claims)} may not call this API: only Alice may. The gateway refused it (403) without forwarding it.`);
      error.dataset.code = 'forbidden';
      return;
    }
    if (result.kind === 'error') {
      showError(error, result.message);
      return;
    }
    if (!isWhoAmI(result.body)) {
      showError(error, 'The API answered, but not with the expected shape.');
      return;
    }
    window.sessionStorage.removeItem(STEP_UP_TRIED);
    const change = tokenChange(lastToken, result.body);
    if (change === 'refreshed') {
      refreshesSeen += 1;
    }
    lastToken = result.body;
    target.replaceChildren(whoAmIView(result.body, change));
    // Every call through the gateway slides the session: ask again for the new end time.
    const latest = await bff.getUser();
    if (latest.kind === 'signed-in') {
      user.sessionExpiresAt = latest.user.sessionExpiresAt;
      startCountdown(user, remaining);
    }
  } finally {
    button.disabled = false;
  }
}

function whoAmIView(who: WhoAmI, change: 'first' | 'same' | 'refreshed'): HTMLElement {
  const issued = new Date(who.issuedAt);
  const expires = new Date(who.expiresAt);
  const expiresIn = el('span', { id: 'token-expires-in' }, '');
  const tick = () => {
    const left = remainingSeconds(who.expiresAt, new Date());
    expiresIn.textContent = left === null ? '' : left > 0 ? `in ${formatDuration(left)}` : 'expired — the next call makes the gateway refresh it';
  };
  tick();
  const timer = window.setInterval(() => (expiresIn.isConnected ? tick() : window.clearInterval(timer)), 1000);

  const verdict =
    change === 'refreshed'
      ? 'The gateway refreshed the access token for this call (a new token, issued by the provider with the refresh token the gateway keeps).'
      : change === 'same'
        ? 'Same access token as the previous call.'
        : 'First call: the API saw the access token the gateway got at sign-in.';

  return el('div', { className: 'api-answer' }, [
    el('h3', {}, 'The API says'),
    el('p', { id: 'token-verdict', className: change === 'refreshed' ? 'notice' : 'muted', dataset: { change } }, verdict),
    el('dl', {}, [
      el('dt', {}, 'Subject'),
      el('dd', { id: 'api-sub' }, who.sub),
      el('dt', {}, 'Name'),
      el('dd', { id: 'api-name' }, who.name ?? '—'),
      el('dt', {}, 'Client'),
      el('dd', {}, who.clientId ?? '—'),
      el('dt', {}, 'Scopes'),
      el('dd', { id: 'api-scopes' }, who.scopes.join(' ')),
      el('dt', {}, 'Token type'),
      el(
        'dd',
        { id: 'api-token-type', dataset: { value: who.tokenType ?? 'Bearer' } },
        who.tokenType === 'DPoP'
          ? `DPoP: bound to the gateway's key ${who.boundKeyThumbprint ?? ''}; the API checked a proof of it on this call`
          : 'Bearer',
      ),
      el('dt', {}, 'Token issued'),
      el('dd', { id: 'token-issued-at', dataset: { value: who.issuedAt } }, issued.toLocaleTimeString()),
      el('dt', {}, 'Token expires'),
      el('dd', { id: 'token-expires-at', dataset: { value: who.expiresAt } }, [expires.toLocaleTimeString(), ' ', expiresIn]),
      el('dt', {}, 'Refreshes seen'),
      el('dd', { id: 'refreshes-seen' }, String(refreshesSeen)),
    ]),
  ]);
}

function claimsTable(user: BffUser): HTMLElement {
  const rows = user.claims.map((c) => el('tr', {}, [el('td', {}, c.type), el('td', {}, c.value)]));
  return el('table', { id: 'claims' }, [el('thead', {}, [el('tr', {}, [el('th', {}, 'type'), el('th', {}, 'value')])]), el('tbody', {}, rows)]);
}

function startCountdown(user: BffUser, target: HTMLElement): void {
  stopCountdown();
  const tick = () => {
    const left = remainingSeconds(user.sessionExpiresAt, new Date());
    target.textContent = left === null ? 'unknown' : formatDuration(left);
    if (left === 0) {
      stopCountdown();
      void start(false); // The gateway decides, asked without sliding; it will answer 401 and the page shows "signed out".
    }
  };
  tick();
  countdown = window.setInterval(tick, 1000);
}

function stopCountdown(): void {
  if (countdown !== undefined) {
    window.clearInterval(countdown);
    countdown = undefined;
  }
}

function renderFailure(error: BffError): void {
  stopCountdown();
  stopSessionEvents();
  const retry = el('button', { id: 'retry' }, 'Try again');
  retry.addEventListener('click', () => void start());
  app.replaceChildren(
    el('section', { className: 'card' }, [
      el('h2', {}, 'The gateway could not tell who you are'),
      el('p', { id: 'error', className: 'error' }, error.message),
      retry,
    ]),
  );
}

function showError(target: HTMLElement, message: string): void {
  target.textContent = message;
  target.hidden = false;
}

type Child = Node | string | null;
interface Props {
  id?: string;
  className?: string;
  hidden?: boolean;
  dataset?: Record<string, string>;
}

/** Builds elements with textContent only: nothing from the network is ever parsed as HTML. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props, children: Child | Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.id) node.id = props.id;
  if (props.className) node.className = props.className;
  if (props.hidden) node.hidden = true;
  for (const [key, value] of Object.entries(props.dataset ?? {})) node.dataset[key] = value;
  for (const child of Array.isArray(children) ? children : [children]) {
    if (child !== null) node.append(child);
  }
  return node;
}
