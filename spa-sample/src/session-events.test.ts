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
    const a = new SessionEvents({ fetch: async () => stream.response, channel: tabA, onEnded: (r) => endedA.push(r) });
    const b = new SessionEvents({
      fetch: () => new Promise<Response>(() => {}), // never answers: B is between connections
      channel: tabB,
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
