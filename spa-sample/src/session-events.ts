// Session events from the gateway, for any SPA behind it. Copy this file (it imports nothing).
//
//   GET /bff/events  with X-CSRF: 1  ->  text/event-stream, one per tab:
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
// Usage:
//   const events = new SessionEvents({
//     onEvent: (e) => { if (e.type === 'expiring') showBanner(e); if (e.type === 'extended') hideBanner(); },
//     onEnded: (reason) => showSignedOut(reason),
//   });
//   events.start();            // after /bff/user said the user is signed in
//   events.stop();             // when the page no longer wants events

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
  #abort: AbortController | undefined;
  #running = false;
  #ended = false;
  #attempt = 0;
  #done: Promise<void> = Promise.resolve();

  constructor(options: SessionEventsOptions = {}) {
    this.#options = options;
    // Bind: calling an unbound window.fetch throws "Illegal invocation" in browsers.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#schedule = options.schedule ?? ((callback, delayMs) => setTimeout(callback, delayMs));
    this.#channel = options.channel === undefined ? defaultChannel() : options.channel;
    this.#channel?.addEventListener('message', (message) => {
      const reason = endedMessage(message.data);
      if (reason !== null) {
        this.#end(reason, false);
      }
    });
  }

  /** Opens the stream (again, after a reconnect delay, whenever it closes without `ended`). */
  start(): void {
    if (this.#running || this.#ended) {
      return;
    }
    this.#running = true;
    this.#done = this.#connect();
  }

  /** Closes the stream and stops reconnecting; to listen again, create a new instance. */
  stop(): void {
    this.#running = false;
    this.#abort?.abort();
    this.#channel?.close();
  }

  /** Settles when the current connection attempt is over (for tests). */
  get settled(): Promise<void> {
    return this.#done;
  }

  async #connect(): Promise<void> {
    if (!this.#running || this.#ended) {
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    let response: Response;
    try {
      response = await this.#fetch(this.#options.path ?? '/bff/events', {
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
      this.#end('unknown', true);
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
          this.#options.onEvent?.(event);
          if (event.type === 'ended') {
            this.#end(event.reason, true);
            await reader.cancel();
            return;
          }
        }
      }
    } catch {
      // The connection dropped mid-stream: reconnect below.
    }
    this.#reconnectLater();
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

  #end(reason: SessionEndReason, tellOtherTabs: boolean): void {
    if (this.#ended) {
      return;
    }
    this.#ended = true;
    this.#running = false;
    this.#abort?.abort();
    if (tellOtherTabs) {
      this.#channel?.postMessage({ type: 'bff-session-ended', reason });
    }
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
