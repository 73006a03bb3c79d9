// Session events from the gateway, for any SPA behind it. Copy this file (it imports nothing).
//
//   GET /bff/events  with X-CSRF: 1  ->  text/event-stream:
//     event: ready     data: {"expiresAt":"…","absoluteExpiresAt":"…"}
//     event: expiring  data: {"kind":"idle"|"absolute","secondsLeft":120,"expiresAt":"…","canExtend":true}
//     event: extended  data: {"expiresAt":"…","absoluteExpiresAt":"…"}
//     event: ended     data: {"reason":"logout"|"backchannel"|"revoked"|"refresh_rejected"|"expired"|"unknown"}
//     : heartbeat      (a comment every 15 s)
//
// Why fetch and not EventSource: the gateway's anti-forgery rule is the X-CSRF header, and EventSource cannot send
// headers. Listening never extends the session; only ordinary calls (GET /bff/user, API calls) do, which is what
// "stay signed in" should do.
//
// One stream per browser, not per tab: an open stream holds a connection, and over HTTP/1.1 a browser opens at most
// six to one host, so six tabs with a stream each would leave none for anything else. The tabs of one origin elect a
// leader with the Web Locks API; it reads the stream and relays every event to the others over a BroadcastChannel
// ('bff-session'), which hand them to their own onEvent / onEnded as if they had read them. When the leading tab
// closes or stops, the next one takes the lock and opens the stream (its `ready` reaches every tab). A tab that joins
// makes the leader open the stream again, so that it too hears `ready` with the current times. Where the browser has
// no Web Locks or no BroadcastChannel, or with `shareAcrossTabs: false`, each tab reads its own stream.
//
// Usage:
//   const events = new SessionEvents({
//     onEvent: (e) => { if (e.type === 'expiring') showBanner(e); if (e.type === 'ready' || e.type === 'extended') hideBanner(); },
//     onEnded: (reason) => showSignedOut(reason),
//   });
//   events.start();            // after /bff/user said the user is signed in (in every tab: one of them leads)
//   events.stop();             // when the page no longer wants events (a leading tab hands the stream on)

/** Why the session ended. `unknown`: it was found gone without a reason (check `/bff/user?slide=false`). */
export type SessionEndReason = 'logout' | 'backchannel' | 'revoked' | 'refresh_rejected' | 'expired' | 'unknown';

export type SessionEvent =
  | { type: 'ready'; expiresAt: string; absoluteExpiresAt: string }
  | { type: 'expiring'; kind: 'idle' | 'absolute'; secondsLeft: number; expiresAt: string; canExtend: boolean }
  | { type: 'extended'; expiresAt: string; absoluteExpiresAt: string }
  | { type: 'ended'; reason: SessionEndReason };

/** The part of BroadcastChannel the module uses; injected for tests. */
export interface TabChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

/** The part of the Web Locks API (`navigator.locks`) the module uses; injected for tests. */
export interface TabLocks {
  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<void>): Promise<unknown>;
}

export interface SessionEventsOptions {
  /** Every event, in order (`ended` included). */
  onEvent?: (event: SessionEvent) => void;
  /**
   * Called once when this tab's session is over: an `ended` event, another tab saying its session ended, or a
   * reconnect answered 401. The stream is not reopened afterwards.
   */
  onEnded?: (reason: SessionEndReason) => void;
  /** Defaults to the browser's fetch. */
  fetch?: typeof fetch;
  /** Delay before reconnecting after the stream closed without `ended` (a gateway restart, a network drop). */
  reconnectDelayMs?: (attempt: number) => number;
  /** Defaults to setTimeout; injected for tests. */
  schedule?: (callback: () => void, delayMs: number) => unknown;
  /**
   * Tells other tabs of this origin that the session ended, so a tab whose stream is reconnecting switches at once
   * too. Defaults to a BroadcastChannel named 'bff-session' where the browser has one; `null` turns it off.
   */
  channel?: TabChannel | null;
  /** The stream's path (default `/bff/events`). */
  path?: string;
  /**
   * One stream for all tabs of this origin (default true): the tab holding the Web Lock reads it and relays its events
   * over `channel`; the others follow. Needs `locks` and `channel`; without either, each tab reads its own stream.
   */
  shareAcrossTabs?: boolean;
  /** Defaults to the browser's `navigator.locks` where it has one; `null` makes each tab read its own stream. */
  locks?: TabLocks | null;
}

const REASONS: readonly SessionEndReason[] = ['logout', 'backchannel', 'revoked', 'refresh_rejected', 'expired', 'unknown'];

/** Exponential, from 1 s up to 30 s. */
export function defaultReconnectDelay(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

export class SessionEvents {
  readonly #options: SessionEventsOptions;
  readonly #fetch: typeof fetch;
  readonly #schedule: (callback: () => void, delayMs: number) => unknown;
  readonly #channel: TabChannel | null;
  readonly #locks: TabLocks | null;
  readonly #path: string;
  #abort: AbortController | undefined;
  #reader: ReadableStreamDefaultReader<string> | undefined;
  #running = false;
  #ended = false;
  #attempt = 0;
  #done: Promise<void> = Promise.resolve();
  /** The session this tab follows: the `absoluteExpiresAt` of its first `ready` (a new sign-in has another). */
  #session: string | undefined;
  /** Sharing: this tab holds the lock and reads the stream for all; `#release` lets the lock go. */
  #leading = false;
  /** Sharing was refused (the lock could not be asked for): this tab reads its own stream. */
  #ownStream = false;
  #release: (() => void) | undefined;
  #lockRequest: AbortController | undefined;
  /** The current connection has said `ready`; a reread asked for while it is open reconnects at once. */
  #live = false;
  #reread = false;

  constructor(options: SessionEventsOptions = {}) {
    this.#options = options;
    // Bind: calling an unbound window.fetch throws "Illegal invocation" in browsers.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#schedule = options.schedule ?? ((callback, delayMs) => setTimeout(callback, delayMs));
    this.#channel = options.channel === undefined ? defaultChannel() : options.channel;
    this.#locks = options.shareAcrossTabs === false || this.#channel === null ? null : options.locks === undefined ? defaultLocks() : options.locks;
    this.#path = options.path ?? '/bff/events';
    this.#channel?.addEventListener('message', (message) => this.#heard(message.data));
  }

  /** Opens the stream (again, after a reconnect delay, whenever it closes without `ended`), or follows the tab that has. */
  start(): void {
    if (this.#running || this.#ended) {
      return;
    }
    this.#running = true;
    if (this.#locks === null) {
      this.#done = this.#connect();
      return;
    }
    // A leading tab reconnects, so that this one hears `ready` with the session's current times.
    this.#channel?.postMessage({ type: 'bff-session-joined', path: this.#path });
    const request = new AbortController();
    this.#lockRequest = request;
    let granted: Promise<unknown>;
    try {
      granted = this.#locks.request(`bff-session-events:${this.#path}`, { signal: request.signal }, () => this.#lead());
    } catch (error) {
      granted = Promise.reject(error);
    }
    granted.catch(() => {
      // Aborted by stop() or end; any other refusal (an opaque origin, say): read this tab's own stream.
      if (!request.signal.aborted && this.#running && !this.#ended && !this.#leading) {
        this.#ownStream = true;
        this.#done = this.#connect();
      }
    });
  }

  /** Closes the stream and stops reconnecting (a leading tab hands the stream on); to listen again, create a new instance. */
  stop(): void {
    this.#running = false;
    this.#close();
    this.#letGo();
    this.#channel?.close();
  }

  /** Settles when the current connection attempt is over (for tests). */
  get settled(): Promise<void> {
    return this.#done;
  }

  /** Holds the lock until this tab stops or its session ends; the browser lets it go when the tab closes. */
  async #lead(): Promise<void> {
    if (!this.#running || this.#ended) {
      return;
    }
    const released = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    this.#leading = true;
    this.#attempt = 0;
    this.#done = this.#connect();
    await released;
  }

  #letGo(): void {
    this.#lockRequest?.abort();
    this.#leading = false;
    this.#release?.();
    this.#release = undefined;
  }

  async #connect(): Promise<void> {
    if (!this.#running || this.#ended) {
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    this.#live = false;
    this.#reread = false;
    let response: Response;
    try {
      response = await this.#fetch(this.#path, {
        method: 'GET',
        headers: { 'X-CSRF': '1', Accept: 'text/event-stream' },
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        signal: abort.signal,
      });
    } catch {
      this.#reconnectLater();
      return;
    }

    if (response.status === 401) {
      // No session (any more): the stream is only for signed-in pages.
      this.#end('unknown', true, false);
      return;
    }
    if (!response.ok || response.body === null) {
      // 503 (the session store is down) and the like: try again later. 403 and other refusals too, but slowly.
      this.#reconnectLater();
      return;
    }

    this.#attempt = 0;
    try {
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      this.#reader = reader;
      const parser = new EventStreamParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        for (const message of parser.push(value)) {
          const event = toSessionEvent(message);
          if (event === null) {
            continue;
          }
          if (event.type === 'ready') {
            if (this.#session !== undefined && this.#session !== event.absoluteExpiresAt) {
              // The cookie names another session now (a newer sign-in in this browser): the one this tab showed is gone.
              this.#end('unknown', true, false);
              await reader.cancel();
              return;
            }
            this.#session = event.absoluteExpiresAt;
            this.#live = true;
          }
          if (event.type === 'ended') {
            this.#options.onEvent?.(event);
            this.#end(event.reason, true, true);
            await reader.cancel();
            return;
          }
          if (this.#leading) {
            this.#channel?.postMessage({ type: 'bff-session-event', path: this.#path, session: this.#session, message });
          }
          this.#options.onEvent?.(event);
        }
      }
    } catch {
      // The connection dropped mid-stream, or a tab joined and this one closed it to reread: reconnect below.
    }
    if (this.#reread && this.#running && !this.#ended) {
      this.#done = this.#connect();
      return;
    }
    this.#reconnectLater();
  }

  /** Closes the current connection (the reading loop then ends). */
  #close(): void {
    this.#abort?.abort();
    this.#reader?.cancel().catch(() => {});
    this.#reader = undefined;
  }

  #reconnectLater(): void {
    if (!this.#running || this.#ended) {
      return;
    }
    this.#attempt += 1;
    const delay = (this.#options.reconnectDelayMs ?? defaultReconnectDelay)(this.#attempt);
    this.#schedule(() => {
      this.#done = this.#connect();
    }, delay);
  }

  /** A message from another tab of this origin. */
  #heard(data: unknown): void {
    if (this.#ended || typeof data !== 'object' || data === null) {
      return;
    }
    const message = data as { type?: unknown; path?: unknown; session?: unknown; message?: unknown; relayed?: unknown };
    if (message.path !== undefined && message.path !== this.#path) {
      return;
    }
    const session = typeof message.session === 'string' ? message.session : undefined;
    const ended = endedMessage(data);
    if (ended !== null) {
      if (session !== undefined && session !== this.#session) {
        // The end of another session (an earlier one, replaced by a sign-in in this browser), or of one this tab has
        // not heard of yet: its own `ready`, its leader's or its own 401 will say how its session stands.
        return;
      }
      if (this.#following && message.relayed === true) {
        this.#options.onEvent?.({ type: 'ended', reason: ended });
      }
      this.#end(ended, false, false);
      return;
    }
    if (message.type === 'bff-session-joined') {
      if (this.#leading && this.#live) {
        this.#reread = true;
        this.#close();
      }
      return;
    }
    if (message.type !== 'bff-session-event' || !this.#following || session === undefined) {
      return;
    }
    const wire = message.message as Partial<EventStreamMessage> | null;
    if (typeof wire !== 'object' || wire === null || typeof wire.event !== 'string' || typeof wire.data !== 'string') {
      return;
    }
    const event = toSessionEvent({ event: wire.event, data: wire.data });
    if (event === null) {
      return;
    }
    if (event.type === 'ready' && this.#session === undefined) {
      this.#session = session;
    }
    if (session !== this.#session) {
      if (event.type === 'ready') {
        // The leading tab's stream names another session (a newer sign-in in this browser): this tab's one is gone.
        this.#end('unknown', false, false);
      }
      return;
    }
    this.#options.onEvent?.(event);
  }

  /**
   * Another tab's stream speaks for this one: sharing, and no live stream of its own (a tab that has just taken over
   * still hears what the previous leader said last, its `ended` above all).
   */
  get #following(): boolean {
    return this.#locks !== null && this.#running && !this.#ownStream && !(this.#leading && this.#live);
  }

  #end(reason: SessionEndReason, tellOtherTabs: boolean, readFromStream: boolean): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    this.#running = false;
    if (tellOtherTabs) {
      // Before the lock goes, so that the tab taking it over hears this first. `relayed`: the stream said `ended`, and
      // following tabs pass it to onEvent too, as if they had read it.
      this.#channel?.postMessage({ type: 'bff-session-ended', reason, path: this.#path, session: this.#session, relayed: readFromStream });
    }
    this.#close();
    this.#letGo();
    this.#options.onEnded?.(reason);
  }
}

/** One Server-Sent Event as the wire carries it. */
export interface EventStreamMessage {
  event: string;
  data: string;
}

/**
 * The Server-Sent Events wire format, fed with text as it arrives (chunks may split lines anywhere): `event:` and
 * `data:` fields, messages ended by a blank line, comments (`:`) ignored, LF, CRLF or CR line ends.
 */
export class EventStreamParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];

  push(chunk: string): EventStreamMessage[] {
    this.#buffer += chunk;
    const messages: EventStreamMessage[] = [];
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/);
      if (end < 0) {
        break;
      }
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (this.#buffer[end] === '\r' && end === this.#buffer.length - 1) {
        break;
      }
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(this.#buffer.startsWith('\r\n', end) ? end + 2 : end + 1);
      this.#line(line, messages);
    }
    return messages;
  }

  #line(line: string, messages: EventStreamMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) {
        messages.push({ event: this.#event || 'message', data: this.#data.join('\n') });
      }
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) {
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'event') {
      this.#event = value;
    } else if (field === 'data') {
      this.#data.push(value);
    }
  }
}

/** A wire message as a typed event; null for anything this module does not know (ignored, for forward compatibility). */
export function toSessionEvent(message: EventStreamMessage): SessionEvent | null {
  let data: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(message.data);
    if (typeof parsed !== 'object' || parsed === null) {
      return null;
    }
    data = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const text = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : null);
  switch (message.event) {
    case 'ready':
    case 'extended': {
      const expiresAt = text('expiresAt');
      const absoluteExpiresAt = text('absoluteExpiresAt');
      return expiresAt !== null && absoluteExpiresAt !== null ? { type: message.event, expiresAt, absoluteExpiresAt } : null;
    }
    case 'expiring': {
      const kind = data.kind === 'absolute' ? 'absolute' : data.kind === 'idle' ? 'idle' : null;
      const expiresAt = text('expiresAt');
      const secondsLeft = data.secondsLeft;
      if (kind === null || expiresAt === null || typeof secondsLeft !== 'number' || !Number.isFinite(secondsLeft)) {
        return null;
      }
      return { type: 'expiring', kind, secondsLeft: Math.max(0, Math.floor(secondsLeft)), expiresAt, canExtend: data.canExtend === true };
    }
    case 'ended':
      return { type: 'ended', reason: toReason(data.reason) };
    default:
      return null;
  }
}

function toReason(value: unknown): SessionEndReason {
  return REASONS.find((reason) => reason === value) ?? 'unknown';
}

function endedMessage(data: unknown): SessionEndReason | null {
  if (typeof data !== 'object' || data === null || (data as { type?: unknown }).type !== 'bff-session-ended') {
    return null;
  }
  return toReason((data as { reason?: unknown }).reason);
}

function defaultChannel(): TabChannel | null {
  return typeof BroadcastChannel === 'function' ? new BroadcastChannel('bff-session') : null;
}

function defaultLocks(): TabLocks | null {
  // Web Locks: Chromium 69, Firefox 96, Safari 15.4; secure contexts only (https, http://localhost), as the gateway's
  // __Host- cookie needs anyway.
  return typeof navigator !== 'undefined' && typeof navigator.locks?.request === 'function' ? navigator.locks : null;
}

/** "Your session ends in 2 minutes" and the like: whole minutes while there are some, then seconds. */
export function expiringMessage(secondsLeft: number): string {
  const seconds = Math.max(0, Math.floor(secondsLeft));
  if (seconds >= 60) {
    const minutes = Math.round(seconds / 60);
    return `Your session ends in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  }
  return `Your session ends in ${seconds} second${seconds === 1 ? '' : 's'}`;
}

/** What to tell a user whose session ended. */
export function endReasonMessage(reason: SessionEndReason): string {
  switch (reason) {
    case 'logout':
      return 'You signed out (in this or another tab).';
    case 'backchannel':
      return 'You were signed out at the identity provider. Sign in again to continue.';
    case 'revoked':
      return 'This session was ended from another device or by an administrator.';
    case 'refresh_rejected':
      return 'Your sign-in can no longer be renewed. Sign in again to continue.';
    case 'expired':
      return 'Your session has expired. Sign in again to continue.';
    default:
      return 'Your session has ended. Sign in again to continue.';
  }
}
