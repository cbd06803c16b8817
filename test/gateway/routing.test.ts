// pickMember and the cooldown transitions, table by table: the rules of DESIGN §8 with no I/O.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FAILURES_TO_COOL_DOWN,
  IDLE_STATE,
  endRequest,
  isCoolingDown,
  parseRetryAfterMs,
  pickMember,
  recordFailure,
  recordSuccess,
  startRequest,
  type MemberState,
  type PickInput,
  type RouteMember,
} from '../../gateway/routing.js';

const NOW = 1_000_000;

function member(name: string, waiting: number | null = null): RouteMember {
  return { name, pool: 'p', model: 'm', url: `http://${name}:8000/v1`, apiKeyEnv: null, waiting };
}

function state(partial: Partial<MemberState>): MemberState {
  return { ...IDLE_STATE, ...partial };
}

function pick(candidates: RouteMember[], options: Partial<Omit<PickInput, 'candidates' | 'states'>> & { states?: Record<string, MemberState> } = {}): string | null {
  const states = new Map(Object.entries(options.states ?? {}));
  const picked = pickMember({
    candidates,
    states,
    exclude: options.exclude ?? new Set(),
    nowMs: options.nowMs ?? NOW,
    strategy: options.strategy ?? 'least-load',
    random: options.random ?? (() => 0),
    turn: options.turn ?? 0,
  });
  return picked?.name ?? null;
}

const cooling = (untilMs: number): MemberState => state({ consecutiveFailures: 3, cooldown: { sinceMs: NOW - 1000, untilMs, reason: 'HTTP 503' } });

describe('least-load', () => {
  it.each([
    ['fewest in flight wins', { a: state({ inFlight: 2 }), b: state({ inFlight: 1 }) }, [null, null], 'b'],
    ['an idle member beats a busy one', { a: state({ inFlight: 1 }) }, [null, null], 'b'],
    ['equal in flight: the shorter reported queue wins', {}, [3, 1], 'b'],
    ['in flight comes before the queue', { b: state({ inFlight: 1 }) }, [5, 0], 'a'],
    ['an unreported queue counts as empty', {}, [2, null], 'b'],
  ] as const)('%s', (_name, states, waiting, expected) => {
    const candidates = [member('a', waiting[0]), member('b', waiting[1])];
    expect(pick(candidates, { states })).toBe(expected);
  });

  it('breaks a tie at random among the tied members only', () => {
    const candidates = [member('a'), member('b'), member('c')];
    const states = { c: state({ inFlight: 1 }) };
    expect(pick(candidates, { states, random: () => 0 })).toBe('a');
    expect(pick(candidates, { states, random: () => 0.99 })).toBe('b');
  });

  it('spreads ties over every tied member as random varies', () => {
    const candidates = [member('a'), member('b'), member('c')];
    const seen = new Set([0, 0.34, 0.67, 0.999999].map((r) => pick(candidates, { random: () => r })));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
  });

  it('always picks a member with the fewest in flight (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(5), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (loads, r) => {
        const candidates = loads.map((_, i) => member(`m${i}`));
        const states = Object.fromEntries(loads.map((n, i) => [`m${i}`, state({ inFlight: n })]));
        const picked = pick(candidates, { states, random: () => r });
        const index = Number(picked?.slice(1));
        expect(loads[index]).toBe(Math.min(...loads));
      }),
    );
  });
});

describe('round-robin', () => {
  it('takes the candidates in turn', () => {
    const candidates = [member('a'), member('b'), member('c')];
    expect([0, 1, 2, 3, 4].map((turn) => pick(candidates, { strategy: 'round-robin', turn }))).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('ignores load', () => {
    const candidates = [member('a'), member('b')];
    expect(pick(candidates, { strategy: 'round-robin', turn: 0, states: { a: state({ inFlight: 9 }) } })).toBe('a');
  });

  it('skips members cooling down', () => {
    const candidates = [member('a'), member('b'), member('c')];
    expect(pick(candidates, { strategy: 'round-robin', turn: 1, states: { b: cooling(NOW + 5000) } })).toBe('c');
  });
});

describe('exclusions, cooldowns and panic mode', () => {
  it('never picks a member this request already tried', () => {
    expect(pick([member('a'), member('b')], { exclude: new Set(['b']), states: { a: state({ inFlight: 5 }) } })).toBe('a');
  });

  it('gives null once every candidate was tried', () => {
    expect(pick([member('a'), member('b')], { exclude: new Set(['a', 'b']) })).toBeNull();
    expect(pick([])).toBeNull();
  });

  it('skips a member cooling down, even when it is the least loaded', () => {
    expect(pick([member('a'), member('b')], { states: { a: cooling(NOW + 1), b: state({ inFlight: 4 }) } })).toBe('b');
  });

  it('takes a member again once its cooldown has ended', () => {
    expect(pick([member('a'), member('b')], { states: { a: cooling(NOW), b: state({ inFlight: 4 }) } })).toBe('a');
  });

  it('when every untried member cools down, tries the one whose cooldown ends first (panic mode)', () => {
    const states = { a: cooling(NOW + 9000), b: cooling(NOW + 2000), c: cooling(NOW + 5000) };
    expect(pick([member('a'), member('b'), member('c')], { states })).toBe('b');
    expect(pick([member('a'), member('b'), member('c')], { states, exclude: new Set(['b']) })).toBe('c');
  });

  it('panic mode considers only members that cool down when others were tried', () => {
    const states = { a: cooling(NOW + 9000) };
    expect(pick([member('a'), member('b')], { states, exclude: new Set(['b']) })).toBe('a');
  });
});

describe('cooldown transitions', () => {
  const failure = { nowMs: NOW, cooldownMs: 30_000, reason: 'HTTP 503', retryAfterMs: null, poolSize: 3 };

  it(`cools a member down after ${FAILURES_TO_COOL_DOWN} failures in a row, not before`, () => {
    let s: MemberState = IDLE_STATE;
    for (let i = 1; i < FAILURES_TO_COOL_DOWN; i++) {
      s = recordFailure(s, failure);
      expect(s.cooldown).toBeNull();
    }
    s = recordFailure(s, failure);
    expect(s.cooldown).toEqual({ sinceMs: NOW, untilMs: NOW + 30_000, reason: 'HTTP 503' });
    expect(isCoolingDown(s, NOW + 29_999)).toBe(true);
    expect(isCoolingDown(s, NOW + 30_000)).toBe(false);
  });

  it('a success between failures starts the count again', () => {
    let s = recordFailure(recordFailure(IDLE_STATE, failure), failure);
    s = recordSuccess(s);
    s = recordFailure(recordFailure(s, failure), failure);
    expect(s.cooldown).toBeNull();
    expect(s.consecutiveFailures).toBe(2);
  });

  it('a success ends a cooldown (a panic pick that worked)', () => {
    expect(recordSuccess(cooling(NOW + 5000))).toEqual(IDLE_STATE);
  });

  it('a success on a healthy member changes nothing (the same object)', () => {
    const s = state({ inFlight: 2 });
    expect(recordSuccess(s)).toBe(s);
  });

  it("a 429's Retry-After cools down at once, for that long", () => {
    const s = recordFailure(IDLE_STATE, { ...failure, reason: 'HTTP 429', retryAfterMs: 7000 });
    expect(s.cooldown).toEqual({ sinceMs: NOW, untilMs: NOW + 7000, reason: 'HTTP 429' });
  });

  it('a pool of one never cools down, whatever fails', () => {
    let s: MemberState = IDLE_STATE;
    for (let i = 0; i < 10; i++) s = recordFailure(s, { ...failure, poolSize: 1 });
    expect(s.cooldown).toBeNull();
    expect(recordFailure(IDLE_STATE, { ...failure, poolSize: 1, retryAfterMs: 5000 }).cooldown).toBeNull();
  });

  it('a failure while cooling down extends the cooldown and keeps when it began', () => {
    const s = recordFailure(cooling(NOW + 1000), { ...failure, reason: 'connect ECONNREFUSED' });
    expect(s.cooldown).toEqual({ sinceMs: NOW - 1000, untilMs: NOW + 30_000, reason: 'connect ECONNREFUSED' });
  });

  it('--cooldown 0 never cools down after failures in a row', () => {
    let s: MemberState = IDLE_STATE;
    for (let i = 0; i < 5; i++) s = recordFailure(s, { ...failure, cooldownMs: 0 });
    expect(s.cooldown).toBeNull();
  });

  it('counts requests in flight, never below zero', () => {
    const s = startRequest(startRequest(IDLE_STATE));
    expect(s.inFlight).toBe(2);
    expect(endRequest(endRequest(endRequest(s))).inFlight).toBe(0);
  });
});

describe('Retry-After', () => {
  it.each([
    ['7', 7000],
    ['0.5', 500],
    [' 12 ', 12_000],
    [undefined, null],
    ['', null],
    ['soon', null],
  ] as const)('%j is %j ms', (value, expected) => {
    expect(parseRetryAfterMs(value, NOW)).toBe(expected);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
});
