import { describe, expect, it, vi } from 'vitest';
import {
  EventStreamParser,
  SessionEvents,
  defaultReconnectDelay,
  endReasonMessage,
  expiringMessage,
  toSessionEvent,
  type SessionEndReason,
  type SessionEvent,
  type TabChannel,
  type TabLocks,
} from './session-events';

/** A streamed response whose chunks the test pushes, as the gateway would send them. */
function streamedResponse(): { response: Response; send: (text: string) => void; close: () => void; cancelled: () => boolean } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      cancelled = true;
    },
  });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream; charset=utf-8' } }),
    send: (text) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
    cancelled: () => cancelled,
  };
}

/** Two tabs' channels, connected to each other. */
function tabChannels(): [TabChannel, TabChannel] {
  const listeners: Array<Array<(event: { data: unknown }) => void>> = [[], []];
  const make = (self: number): TabChannel => ({
    postMessage: (message) => listeners[1 - self]!.forEach((listener) => listener({ data: message })),
    addEventListener: (_type, listener) => listeners[self]!.push(listener),
    close: () => {},
  });
  return [make(0), make(1)];
}

/**
 * Tabs of one origin: each tab's channel delivers to every other open one, a task later, a structured clone.
 * `delivered()` settles once every message posted so far has reached its listeners.
 */
function tabBus(): { (): TabChannel; delivered: () => Promise<void> } {
  const open = new Set<{ listeners: Array<(event: { data: unknown }) => void> }>();
  let pending = 0;
  const channel = (): TabChannel => {
    const tab = { listeners: [] as Array<(event: { data: unknown }) => void> };
    open.add(tab);
    return {
      postMessage: (message) => {
        const copy = structuredClone(message);
        for (const other of open) {
          if (other !== tab) {
            pending += 1;
            setTimeout(() => {
              pending -= 1;
              if (open.has(other)) other.listeners.forEach((listener) => listener({ data: copy }));
            }, 0);
          }
        }
      },
      addEventListener: (_type, listener) => tab.listeners.push(listener),
      close: () => open.delete(tab),
    };
  };
  return Object.assign(channel, { delivered: () => until(() => pending === 0) });
}

/** The Web Locks API as a browser runs it for one origin: one holder per name, the others waiting in order. */
function originLocks(): TabLocks {
  const held = new Set<string>();
  const waiting = new Map<string, Array<() => void>>();
  const next = (name: string) => waiting.get(name)?.shift()?.();
  return {
    request: (name, options, callback) =>
      new Promise((resolve, reject) => {
        // Granted a task later, as the browser's lock manager (in another process) answers.
        const grant = () => {
          held.add(name);
          void new Promise((granted) => setTimeout(granted, 0))
            .then(() => callback({ name }))
            .finally(() => {
              held.delete(name);
              next(name);
            })
            .then(resolve, reject);
        };
        const queue = waiting.get(name) ?? [];
        waiting.set(name, queue);
        if (!held.has(name) && queue.length === 0) {
          grant();
          return;
        }
        const entry = () => {
          options.signal?.removeEventListener('abort', abort);
          grant();
        };
        const abort = () => {
          queue.splice(queue.indexOf(entry), 1);
          reject(new DOMException('The request was aborted.', 'AbortError'));
        };
        options.signal?.addEventListener('abort', abort);
        queue.push(entry);
      }),
  };
}

/** One tab: its own fetch (each call a new stream the test feeds), and what its page was told. */
function tab(channel: TabChannel, locks: TabLocks | null) {
  const streams: Array<ReturnType<typeof streamedResponse>> = [];
  const seen: SessionEvent[] = [];
  const ended: SessionEndReason[] = [];
  const fetch = vi.fn(async () => {
    const stream = streamedResponse();
    streams.push(stream);
    return stream.response;
  });
  const events = new SessionEvents({ fetch, channel, locks, schedule: () => {}, onEvent: (e) => seen.push(e), onEnded: (r) => ended.push(r) });
  return { events, fetch, streams, seen, ended, latest: () => streams[streams.length - 1]! };
}

const READY = 'event: ready\ndata: {"expiresAt":"2030-01-01T00:20:00.000Z","absoluteExpiresAt":"2030-01-01T08:00:00.000Z"}\n\n';
const READY_LATER = 'event: ready\ndata: {"expiresAt":"2030-01-01T00:25:00.000Z","absoluteExpiresAt":"2030-01-01T08:00:00.000Z"}\n\n';
const READY_NEW_SIGN_IN = 'event: ready\ndata: {"expiresAt":"2030-01-01T01:20:00.000Z","absoluteExpiresAt":"2030-01-01T09:00:00.000Z"}\n\n';
const EXPIRING = 'event: expiring\ndata: {"kind":"idle","secondsLeft":120,"expiresAt":"2030-01-01T00:25:00.000Z","canExtend":true}\n\n';
const EXTENDED = 'event: extended\ndata: {"expiresAt":"2030-01-01T00:40:00.000Z","absoluteExpiresAt":"2030-01-01T08:00:00.000Z"}\n\n';

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  expect(condition()).toBe(true);
};

describe('EventStreamParser', () => {
  it('reads events whose lines arrive split across chunks, with any line ending', () => {
    const parser = new EventStreamParser();
    const messages = [
      ...parser.push('event: rea'),
      ...parser.push('dy\ndata: {"a":1}\n'),
      ...parser.push('\n: heartbeat\n\nevent: ended\r'),
      ...parser.push('\ndata: {"reason":"logout"}\r\n\r\n'),
    ];

    expect(messages).toEqual([
      { event: 'ready', data: '{"a":1}' },
      { event: 'ended', data: '{"reason":"logout"}' },
    ]);
  });

  it('ignores comments and joins data lines', () => {
    const parser = new EventStreamParser();
    expect(parser.push(': heartbeat\n\ndata: one\ndata: two\n\n')).toEqual([{ event: 'message', data: 'one\ntwo' }]);
  });
});

describe('toSessionEvent', () => {
  it('types the events the gateway sends', () => {
    expect(toSessionEvent({ event: 'expiring', data: '{"kind":"idle","secondsLeft":120,"expiresAt":"2030-01-01T00:00:00.000Z","canExtend":true}' })).toEqual({
      type: 'expiring',
      kind: 'idle',
      secondsLeft: 120,
      expiresAt: '2030-01-01T00:00:00.000Z',
      canExtend: true,
    });
    expect(toSessionEvent({ event: 'ended', data: '{"reason":"backchannel"}' })).toEqual({ type: 'ended', reason: 'backchannel' });
  });

  it('reads a reason it does not know as unknown, and ignores events it does not know or cannot parse', () => {
    expect(toSessionEvent({ event: 'ended', data: '{"reason":"<script>"}' })).toEqual({ type: 'ended', reason: 'unknown' });
    expect(toSessionEvent({ event: 'future', data: '{}' })).toBeNull();
    expect(toSessionEvent({ event: 'expiring', data: 'not json' })).toBeNull();
    expect(toSessionEvent({ event: 'expiring', data: '{"kind":"idle"}' })).toBeNull();
  });
});

describe('SessionEvents', () => {
  it('opens the stream with the CSRF header and the page origin cookie, never sliding anything', async () => {
    const stream = streamedResponse();
    const fetch = vi.fn(async () => stream.response);
    const events = new SessionEvents({ fetch, channel: null });

    events.start();
    await until(() => fetch.mock.calls.length === 1);

    const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(path).toBe('/bff/events');
    expect(init.method).toBe('GET');
    expect((init.headers as Record<string, string>)['X-CSRF']).toBe('1');
    expect(init.credentials).toBe('same-origin');
    events.stop();
  });

  it('passes events on in order and ends once on ended, without reconnecting', async () => {
    const stream = streamedResponse();
    const fetch = vi.fn(async () => stream.response);
    const seen: SessionEvent[] = [];
    const ended: SessionEndReason[] = [];
    const schedule = vi.fn();
    const events = new SessionEvents({ fetch, channel: null, schedule, onEvent: (e) => seen.push(e), onEnded: (r) => ended.push(r) });

    events.start();
    stream.send('event: ready\ndata: {"expiresAt":"2030-01-01T00:20:00.000Z","absoluteExpiresAt":"2030-01-01T08:00:00.000Z"}\n\n');
    stream.send(': heartbeat\n\n');
    stream.send('event: expiring\ndata: {"kind":"idle","secondsLeft":120,"expiresAt":"2030-01-01T00:20:00.000Z","canExtend":true}\n\n');
    stream.send('event: ended\ndata: {"reason":"logout"}\n\n');
    await until(() => ended.length === 1);
    await events.settled;

    expect(seen.map((e) => e.type)).toEqual(['ready', 'expiring', 'ended']);
    expect(ended).toEqual(['logout']);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(schedule).not.toHaveBeenCalled();
    expect(stream.cancelled()).toBe(true);
  });

  it('reconnects after the stream closes without ended (a gateway restart)', async () => {
    const first = streamedResponse();
    const second = streamedResponse();
    const fetch = vi.fn().mockResolvedValueOnce(first.response).mockResolvedValueOnce(second.response);
    const scheduled: Array<{ run: () => void; delay: number }> = [];
    const events = new SessionEvents({ fetch, channel: null, schedule: (run, delay) => scheduled.push({ run, delay }) });

    events.start();
    first.send('event: ready\ndata: {"expiresAt":"x","absoluteExpiresAt":"y"}\n\n');
    first.close();
    await until(() => scheduled.length === 1);
    expect(scheduled[0]!.delay).toBe(1000);

    scheduled[0]!.run();
    await until(() => fetch.mock.calls.length === 2);
    events.stop();
  });

  it('treats a reconnect answered 401 as the session having ended', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: 'unauthenticated' }), { status: 401 }));
    const ended: SessionEndReason[] = [];
    const events = new SessionEvents({ fetch, channel: null, onEnded: (r) => ended.push(r) });

    events.start();
    await until(() => ended.length === 1);

    expect(ended).toEqual(['unknown']);
  });

  it('backs off after failures, up to 30 seconds', async () => {
    expect([1, 2, 3, 6, 10].map(defaultReconnectDelay)).toEqual([1000, 2000, 4000, 30000, 30000]);
    const fetch = vi.fn(async () => new Response('', { status: 503 }));
    const scheduled: number[] = [];
    const events = new SessionEvents({ fetch, channel: null, schedule: (_run, delay) => scheduled.push(delay) });

    events.start();
    await until(() => scheduled.length === 1);

    expect(scheduled).toEqual([1000]);
    events.stop();
  });

  it('tells the other tabs, which end too even while their own stream is reconnecting', async () => {
    const [tabA, tabB] = tabChannels();
    const stream = streamedResponse();
    const endedA: SessionEndReason[] = [];
    const endedB: SessionEndReason[] = [];
    const a = new SessionEvents({ fetch: async () => stream.response, channel: tabA, locks: null, onEnded: (r) => endedA.push(r) });
    const b = new SessionEvents({
      fetch: () => new Promise<Response>(() => {}), // never answers: B is between connections
      channel: tabB,
      locks: null,
      onEnded: (r) => endedB.push(r),
    });

    a.start();
    b.start();
    stream.send('event: ended\ndata: {"reason":"logout"}\n\n');
    await until(() => endedB.length === 1);

    expect(endedA).toEqual(['logout']);
    expect(endedB).toEqual(['logout']);
  });
});

describe('SessionEvents across tabs', () => {
  it('reads one stream for all tabs: the leader relays every event, and the others hear them as if they had read them', async () => {
    const channel = tabBus();
    const locks = originLocks();
    const [a, b, c] = [tab(channel(), locks), tab(channel(), locks), tab(channel(), locks)];
    a.events.start();
    await until(() => a.fetch.mock.calls.length === 1);
    a.latest().send(READY);
    await until(() => a.seen.length === 1);
    await channel.delivered();

    // The others join: the leader opens the stream again, so that they hear `ready` with the current times.
    b.events.start();
    c.events.start();
    await channel.delivered();
    await until(() => a.fetch.mock.calls.length === 2);
    expect(a.streams[0]!.cancelled()).toBe(true);
    a.latest().send(READY_LATER);
    a.latest().send(EXPIRING);
    a.latest().send(EXTENDED);
    await until(() => b.seen.length === 3 && c.seen.length === 3);

    for (const follower of [b, c]) {
      expect(follower.fetch).not.toHaveBeenCalled();
      expect(follower.seen).toEqual([
        { type: 'ready', expiresAt: '2030-01-01T00:25:00.000Z', absoluteExpiresAt: '2030-01-01T08:00:00.000Z' },
        { type: 'expiring', kind: 'idle', secondsLeft: 120, expiresAt: '2030-01-01T00:25:00.000Z', canExtend: true },
        { type: 'extended', expiresAt: '2030-01-01T00:40:00.000Z', absoluteExpiresAt: '2030-01-01T08:00:00.000Z' },
      ]);
    }
    expect(a.seen.map((e) => e.type)).toEqual(['ready', 'ready', 'expiring', 'extended']);
    for (const t of [a, b, c]) t.events.stop();
  });

  it('hands the stream on when the leading tab stops: the next tab opens it and its ready reaches the others', async () => {
    const channel = tabBus();
    const locks = originLocks();
    const [a, b, c] = [tab(channel(), locks), tab(channel(), locks), tab(channel(), locks)];
    a.events.start();
    await until(() => a.fetch.mock.calls.length === 1);
    b.events.start();
    c.events.start();
    await channel.delivered(); // joined before the stream was live: its coming `ready` is for them too
    a.latest().send(READY);
    a.latest().send(EXPIRING);
    await until(() => b.seen.length === 2 && c.seen.length === 2);

    a.events.stop();
    await until(() => b.fetch.mock.calls.length === 1);
    expect(a.latest().cancelled()).toBe(true);
    // The new stream's ready takes the banner down (and its expiring would put it back while still due).
    b.latest().send(READY_LATER);
    await until(() => c.seen.length === 3);

    expect(c.seen.map((e) => e.type)).toEqual(['ready', 'expiring', 'ready']);
    expect(b.seen.map((e) => e.type)).toEqual(['ready', 'expiring', 'ready']);
    expect(c.fetch).not.toHaveBeenCalled();
    expect(a.fetch).toHaveBeenCalledTimes(1);
    b.events.stop();
    c.events.stop();
  });

  it('without Web Locks (or with sharing turned off) each tab reads its own stream, as before', async () => {
    const channel = tabBus();
    const [a, b] = [tab(channel(), null), tab(channel(), null)];
    const ownFetch = vi.fn(async () => streamedResponse().response);
    const own = new SessionEvents({ fetch: ownFetch, channel: channel(), locks: originLocks(), shareAcrossTabs: false });

    a.events.start();
    b.events.start();
    own.start();
    await until(() => a.fetch.mock.calls.length === 1 && b.fetch.mock.calls.length === 1 && ownFetch.mock.calls.length === 1);

    a.latest().send(READY);
    b.latest().send(READY);
    await until(() => a.seen.length === 1 && b.seen.length === 1);
    a.latest().send(EXPIRING);
    await until(() => a.seen.length === 2);
    await channel.delivered();
    expect(b.seen.map((e) => e.type)).toEqual(['ready']); // nothing relayed
    for (const events of [a.events, b.events, own]) events.stop();
  });

  it('reads its own stream when the browser refuses the lock, and a stopped follower never takes the stream over', async () => {
    const channel = tabBus();
    const refused = tab(channel(), { request: () => Promise.reject(new DOMException('Not allowed here.', 'SecurityError')) });
    refused.events.start();
    await until(() => refused.fetch.mock.calls.length === 1);
    refused.events.stop();

    const locks = originLocks();
    const [a, b, c] = [tab(channel(), locks), tab(channel(), locks), tab(channel(), locks)];
    a.events.start();
    await until(() => a.fetch.mock.calls.length === 1);
    b.events.start();
    c.events.start();
    await channel.delivered();
    b.events.stop();
    a.events.stop();
    await until(() => c.fetch.mock.calls.length === 1);
    expect(b.fetch).not.toHaveBeenCalled();
    c.events.stop();
  });

  it('relays ended once: every tab ends once, followers hear the event as if they had read it, and stay ended', async () => {
    const channel = tabBus();
    const locks = originLocks();
    const [a, b, c] = [tab(channel(), locks), tab(channel(), locks), tab(channel(), locks)];
    a.events.start();
    await until(() => a.fetch.mock.calls.length === 1);
    b.events.start();
    c.events.start();
    await channel.delivered();
    a.latest().send(READY);
    await until(() => b.seen.length === 1 && c.seen.length === 1);

    a.latest().send('event: ended\ndata: {"reason":"logout"}\n\n');
    await until(() => b.ended.length === 1 && c.ended.length === 1);
    await channel.delivered();

    for (const t of [a, b, c]) {
      expect(t.ended).toEqual(['logout']);
      expect(t.seen.map((e) => e.type)).toEqual(['ready', 'ended']);
    }
    // Ended, the followers do not take the stream over; after a new sign-in a fresh instance leads and is told.
    const d = tab(channel(), locks);
    d.events.start();
    await until(() => d.fetch.mock.calls.length === 1);
    d.latest().send(READY_NEW_SIGN_IN);
    await until(() => d.seen.length === 1);
    await channel.delivered();
    expect(b.fetch).not.toHaveBeenCalled();
    expect(c.fetch).not.toHaveBeenCalled();
    expect(b.seen.map((e) => e.type)).toEqual(['ready', 'ended']);
    expect(b.ended).toEqual(['logout']);
    expect(a.fetch).toHaveBeenCalledTimes(1);
    d.events.stop();
  });

  it('acts only on its own session: a tab joining after a new sign-in is not ended by the old session, and leads the new one', async () => {
    const channel = tabBus();
    const locks = originLocks();
    const [a, b] = [tab(channel(), locks), tab(channel(), locks)];
    a.events.start();
    await until(() => a.fetch.mock.calls.length === 1);
    b.events.start();
    await channel.delivered();
    a.latest().send(READY);
    await until(() => b.seen.length === 1);

    // Signed in again in a new tab (no sign-out): the cookie names a new session, the old one is gone.
    const c = tab(channel(), locks);
    c.events.start();
    await channel.delivered();
    await until(() => a.fetch.mock.calls.length === 2); // the leader reads again for the tab that joined
    a.latest().send(READY_NEW_SIGN_IN);

    // The tabs that showed the old session learn it is gone; the new tab takes the stream over for its own.
    await until(() => a.ended.length === 1 && b.ended.length === 1);
    expect(a.ended).toEqual(['unknown']);
    expect(b.ended).toEqual(['unknown']);
    await until(() => c.fetch.mock.calls.length === 1);
    c.latest().send(READY_NEW_SIGN_IN);
    await until(() => c.seen.length === 1);
    await channel.delivered();
    expect(c.ended).toEqual([]);
    expect(a.seen.map((e) => e.type)).toEqual(['ready']);
    expect(b.seen.map((e) => e.type)).toEqual(['ready']);
    c.events.stop();
  });
});

describe('messages', () => {
  it('counts down in minutes, then seconds', () => {
    expect(expiringMessage(120)).toBe('Your session ends in 2 minutes');
    expect(expiringMessage(61)).toBe('Your session ends in 1 minute');
    expect(expiringMessage(42)).toBe('Your session ends in 42 seconds');
    expect(expiringMessage(-3)).toBe('Your session ends in 0 seconds');
  });

  it('explains every reason', () => {
    for (const reason of ['logout', 'backchannel', 'revoked', 'refresh_rejected', 'expired', 'unknown'] as const) {
      expect(endReasonMessage(reason).length).toBeGreaterThan(10);
    }
  });
});
