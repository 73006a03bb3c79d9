import { describe, expect, it } from 'vitest';
import { currentReturnUrl, displayName, formatDuration, isWhoAmI, remainingSeconds, tokenChange, type WhoAmI } from './session';

describe('remainingSeconds', () => {
  const now = new Date('2030-01-01T10:00:00Z');

  it('counts whole seconds until the session ends', () => {
    expect(remainingSeconds('2030-01-01T10:29:59.900Z', now)).toBe(1799);
  });

  it('never goes below zero', () => {
    expect(remainingSeconds('2030-01-01T09:59:00Z', now)).toBe(0);
  });

  it('is unknown without a usable end', () => {
    expect(remainingSeconds(null, now)).toBeNull();
    expect(remainingSeconds('soon', now)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [42, '42s'],
    [65, '1m 05s'],
    [1800, '30m 00s'],
    [8 * 3600 - 1, '7h 59m 59s'],
  ])('%i seconds reads as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('displayName', () => {
  it('prefers name, then preferred_username, then email, then sub', () => {
    expect(displayName([{ type: 'sub', value: '1' }, { type: 'name', value: 'Alice' }])).toBe('Alice');
    expect(displayName([{ type: 'sub', value: '1' }, { type: 'preferred_username', value: 'alice' }])).toBe('alice');
    expect(displayName([{ type: 'sub', value: '1' }, { type: 'email', value: 'a@example.org' }])).toBe('a@example.org');
    expect(displayName([{ type: 'sub', value: '1' }])).toBe('1');
  });
});

describe('currentReturnUrl', () => {
  it('keeps path, query and fragment', () => {
    expect(currentReturnUrl({ pathname: '/orders/7', search: '?tab=2', hash: '#top' })).toBe('/orders/7?tab=2#top');
  });

  it('falls back to the root for anything that is not a plain local path', () => {
    expect(currentReturnUrl({ pathname: '//evil.example', search: '', hash: '' })).toBe('/');
  });
});

describe('tokenChange', () => {
  const first: WhoAmI = { sub: 'a', scopes: ['openid'], tokenId: 't1', issuedAt: '2030-01-01T10:00:00Z', expiresAt: '2030-01-01T10:00:45Z' };

  it('knows the first answer', () => {
    expect(tokenChange(undefined, first)).toBe('first');
  });

  it('sees the same token again', () => {
    expect(tokenChange(first, { ...first })).toBe('same');
  });

  it('sees a refreshed token', () => {
    expect(tokenChange(first, { ...first, tokenId: 't2', issuedAt: '2030-01-01T10:00:50Z', expiresAt: '2030-01-01T10:01:35Z' })).toBe('refreshed');
  });

  it('compares issue times when the API gives no token id', () => {
    const { tokenId: _, ...noId } = first;
    expect(tokenChange(noId, { ...noId })).toBe('same');
    expect(tokenChange(noId, { ...noId, issuedAt: '2030-01-01T10:00:50Z' })).toBe('refreshed');
  });
});

describe('isWhoAmI', () => {
  it('accepts the demo API answer and rejects others', () => {
    expect(isWhoAmI({ sub: 'a', scopes: [], issuedAt: 'x', expiresAt: 'y' })).toBe(true);
    expect(isWhoAmI({ sub: 'a' })).toBe(false);
    expect(isWhoAmI(null)).toBe(false);
  });
});
