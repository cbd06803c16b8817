import { describe, expect, it } from 'vitest';
import {
  currentServer,
  isFailover,
  replaceServers,
  rotateAfterAnswer,
  rotateAfterFailure,
  sameServers,
  sharesServer,
  startRotation,
  type Rotation,
} from '../../agent/reconciler-rotation.js';

const A = 'http://a:7420';
const B = 'http://b:7420';
const C = 'http://c:7420';

/** Fails `times` in a row from `start`, returning where it is and which failures ended a round. */
function failInRow(start: Rotation, times: number): { at: Rotation; roundEnds: number[] } {
  let at = start;
  const roundEnds: number[] = [];
  for (let i = 1; i <= times; i++) {
    const { next, roundFailed } = rotateAfterFailure(at);
    if (roundFailed) roundEnds.push(i);
    at = next;
  }
  return { at, roundEnds };
}

describe('the reconciler rotation', () => {
  it('starts at the first reconciler, without trailing slashes', () => {
    const rotation = startRotation([`${A}/`, B]);
    expect(currentServer(rotation)).toBe(A);
    expect(rotation.servers).toEqual([A, B]);
  });

  it.each([
    [[A], 3, [1, 2, 3], A],
    [[A, B], 1, [], B],
    [[A, B], 2, [2], A],
    [[A, B], 5, [2, 4], B],
    [[A, B, C], 3, [3], A],
    [[A, B, C], 7, [3, 6], B],
  ])('over %j, %i failures in a row end rounds at failures %j and land on %s', (servers, times, roundEnds, server) => {
    const result = failInRow(startRotation(servers), times);
    expect(result.roundEnds).toEqual(roundEnds);
    expect(currentServer(result.at)).toBe(server);
  });

  it('starts a fresh round after an answer, staying with the one that answered', () => {
    const { at } = failInRow(startRotation([A, B, C]), 2);
    const answered = rotateAfterAnswer(at);
    expect(currentServer(answered)).toBe(C);
    expect(failInRow(answered, 3).roundEnds).toEqual([3]);
  });

  it.each([
    ['keeps the current one when the new list holds it', [A, B], 1, [C, B, A], B],
    ['starts at the first of the new list when the current one was dropped', [A, B], 1, [C, A], C],
    ['matches with or without a trailing slash', [A, B], 0, [B, `${A}/`], A],
  ])('a reloaded list %s', (_case, servers, failures, nextServers, server) => {
    const { at } = failInRow(startRotation(servers), failures);
    const replaced = replaceServers(at, nextServers);
    expect(currentServer(replaced)).toBe(server);
    expect(replaced.failedInRound).toBe(0);
  });

  it.each([
    [[A], [A], true, true],
    [[A], [`${A}/`], true, true],
    [[A, B], [B, A], true, false],
    [[A], [A, B], true, false],
    [[A, B], [C], false, false],
  ])('lists %j and %j: share a reconciler %s, the same %s', (a, b, shares, same) => {
    expect(sharesServer(a, b)).toBe(shares);
    expect(sameServers(a, b)).toBe(same);
  });

  it.each([
    [{ ok: false as const, kind: 'unreachable' as const, reason: 'ECONNREFUSED' }, true],
    [{ ok: false as const, kind: 'unreachable' as const, reason: 'timeout after 5000ms' }, true],
    [{ ok: false as const, kind: 'http' as const, status: 503, code: 'StoreUnavailable', message: 'etcd unreachable' }, true],
    [{ ok: false as const, kind: 'http' as const, status: 404, code: 'LeaseNotFound', message: 'no lease' }, false],
    [{ ok: false as const, kind: 'http' as const, status: 401, code: 'Unauthorized', message: 'bad token' }, false],
    [{ ok: false as const, kind: 'http' as const, status: 500, code: 'Internal', message: 'bug' }, false],
  ])('%j moves to the next reconciler: %s', (result, expected) => {
    expect(isFailover(result)).toBe(expected);
  });
});
