// The bytes of the hottest read routes, `/llms/:name/members` and `/llms?pool=KEY`: a pool's
// member views serialised once and shared by every anchor and request until the pool changes
// (the effective state's pool stamp moves) or the answer ages past POOL_ANSWER_MAX_AGE_MS.
// The effective state says what the views are; this module only encodes them.
import type { LocatedLlm } from '../../schema/codec.js';
import { buildViews, phaseOf, type LiveLlm, type StaticProbe, type ViewClock } from '../../schema/effective.js';
import { poolHealthOf } from '../../schema/pools.js';
import type { Phase, PoolStats } from '../../schema/views.js';
import type { DeclaredSnapshot } from '../declared-index.js';
import type { EffectiveState, PoolStamp } from '../effective-state.js';

/**
 * How long a pool's serialised members may be served again. Real changes (phase, pool, agent,
 * spec) drop it at once; only the ages in reasons, heartbeat times and GPU usage figures (a
 * beat's telemetry, not a change) may lag by up to this.
 */
export const POOL_ANSWER_MAX_AGE_MS = 1000;
/**
 * A pool answer this old is rebuilt right after the request that found it, off the next
 * request's path: its client is still reading the answer it got (on another core, for a client
 * elsewhere), and the next request finds fresh bytes instead of paying for the rebuild.
 */
const REFRESH_AHEAD_MS = 750;
/**
 * How long one turn of a refresh ahead runs before it lets the event loop go on (a 1,000-member
 * pool takes 1.5 ms when its code is hot, 5 to 10 ms while it is not yet).
 */
const REFRESH_TURN_MS = 0.5;
/** Members rendered between two looks at the clock. */
const MEMBERS_PER_CLOCK_LOOK = 16;
const CLOSE_BRACE = Buffer.from('}');
const EMPTY_ARRAY = Buffer.from('[]');
/** Stands in for the reason while a member is serialised, to find where the reason goes. */
export const REASON_MARK = '\u0000mcpctl-reason\u0000';
const REASON_MARK_JSON = JSON.stringify(REASON_MARK);

/** A pool's member views, computed at `atMs` and serialised once for the requests that follow. */
interface PoolAnswer {
  atMs: number;
  stamp: PoolStamp;
  /** The views as a UTF-8 JSON array, encoded once. */
  json: Buffer;
  /** The pool's figures as membersOf computes them, less the anchor's own `explicit`. */
  stats: Omit<PoolStats, 'explicit'>;
  /** Each member's `explicit` (its own poolName is set); the anchors this answer can serve. */
  explicitByName: Map<string, boolean>;
  /** The member names serialised, in order (the index's own sorted list, compared by identity). */
  names: readonly string[];
  /** The members serialised, in order, and each one's reason as JSON (null: not cut out). */
  members: MemberJson[];
  reasons: (string | null)[];
}

/**
 * One member's view serialised, with the inputs it was built from. While those inputs hold
 * (compared by identity, the live entry field by field) and its phase is the same, its view
 * differs from a fresh one only in the reason's age: a rebuild writes `head`, the reason and
 * `tail` rather than building and serialising the view again.
 */
interface MemberJson {
  name: string;
  declared: LocatedLlm | undefined;
  live: LiveLlm | undefined;
  probe: StaticProbe | undefined;
  revision: string | null;
  phase: Phase;
  explicit: boolean;
  /** The view's UTF-8 JSON before the reason's value, and after it; null tail: the JSON is all in head. */
  head: Buffer;
  tail: Buffer | null;
}

/**
 * A pool answer being built member by member. A refresh ahead builds one over several turns of
 * the event loop, so that requests and heartbeats arriving meanwhile wait for one turn at most;
 * a request that needs fresh bytes builds one in a single go. Everything it is built from is
 * fixed when it starts (the served revision, the clock, the member list, the pool's stamp); a
 * build whose pool has moved on since is given up, never stored.
 */
interface PoolAnswerBuild {
  key: string;
  stamp: PoolStamp;
  atMs: number;
  snapshot: DeclaredSnapshot;
  clock: Required<ViewClock>;
  names: readonly string[];
  previous: PoolAnswer | undefined;
  /** The index in `names` of the next member to look at. */
  next: number;
  members: MemberJson[];
  reasons: (string | null)[];
  activeCount: number;
  /** The encoded length so far, brackets included. */
  length: number;
}

export interface MembersAnswersOptions {
  /**
   * How long one turn of a refresh ahead may run before it yields to the event loop (default
   * REFRESH_TURN_MS). A turn renders at least MEMBERS_PER_CLOCK_LOOK members, so 0 makes a
   * turn of that many.
   */
  refreshTurnMs?: number;
}

export class MembersAnswers {
  private readonly poolAnswers = new Map<string, PoolAnswer>();
  private readonly memberJson = new Map<string, MemberJson>();
  private readonly refreshing = new Set<string>();
  private readonly refreshTurnMs: number;

  constructor(
    private readonly state: EffectiveState,
    options: MembersAnswersOptions = {},
  ) {
    this.refreshTurnMs = options.refreshTurnMs ?? REFRESH_TURN_MS;
  }

  /**
   * The `/members` answer as UTF-8 JSON, in parts to be written one after the other: a small
   * head naming the anchor, then the member list serialised once per pool and shared by every
   * anchor and request until it changes (or ages past POOL_ANSWER_MAX_AGE_MS). Not joining them
   * keeps a request from copying the whole list (600 KB for 1,000 members) into a fresh buffer,
   * whose external memory would set off a garbage collection every request or two. Null when
   * the anchor is not in the effective state.
   */
  membersParts(anchor: string): Buffer[] | null {
    this.state.refresh();
    const key = this.state.poolKeyOf(anchor);
    if (key === undefined) return null;
    const answer = this.poolAnswerOf(key);
    const explicit = answer.explicitByName.get(anchor);
    if (explicit === undefined) return null;
    const { size, activeCount, minActive, health } = answer.stats;
    const head = `{"anchor":${JSON.stringify(anchor)},"pool":{"key":${JSON.stringify(key)},"explicit":${String(explicit)},"size":${size},"activeCount":${activeCount},"minActive":${minActive},"health":${JSON.stringify(health)}},"members":`;
    return [Buffer.from(head), answer.json, CLOSE_BRACE];
  }

  /** membersParts joined into one buffer. */
  membersJson(anchor: string): Buffer | null {
    const parts = this.membersParts(anchor);
    return parts === null ? null : Buffer.concat(parts);
  }

  /** `{revision, items}` of one pool's member views (`/llms?pool=KEY`), as UTF-8 JSON parts. */
  poolViewsParts(poolKey: string, revision: string | null): Buffer[] {
    this.state.refresh();
    const head = Buffer.from(`{"revision":${JSON.stringify(revision)},"items":`);
    const items = this.state.hasPool(poolKey) ? this.poolAnswerOf(poolKey).json : EMPTY_ARRAY;
    return [head, items, CLOSE_BRACE];
  }

  /** poolViewsParts joined into one buffer. */
  poolViewsJson(poolKey: string, revision: string | null): Buffer {
    return Buffer.concat(this.poolViewsParts(poolKey, revision));
  }

  private poolAnswerOf(key: string): PoolAnswer {
    const now = this.state.now();
    const stamp = this.state.poolStamp(key);
    let answer = this.poolAnswers.get(key);
    if (answer === undefined || answer.stamp !== stamp || now - answer.atMs >= POOL_ANSWER_MAX_AGE_MS || now < answer.atMs) {
      const build = this.startBuild(key, stamp, now, answer);
      this.buildSome(build, Infinity);
      answer = this.finishBuild(build);
      this.poolAnswers.set(key, answer);
    } else if (now - answer.atMs >= REFRESH_AHEAD_MS) {
      this.refreshAhead(key, answer);
    }
    return answer;
  }

  /**
   * Builds a fresh answer to replace `found`, a turn of the event loop at a time, starting after
   * the request that found it. Given up when `found` is no longer the pool's answer (a request
   * rebuilt it) or the pool changed meanwhile: the next request then builds it as of then.
   */
  private refreshAhead(key: string, found: PoolAnswer): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    let build: PoolAnswerBuild | null = null;
    const turn = (): void => {
      this.state.refresh();
      if (!this.state.hasPool(key)) this.poolAnswers.delete(key);
      if (this.poolAnswers.get(key) !== found || (build !== null && !this.isCurrent(build))) {
        this.refreshing.delete(key);
        return;
      }
      build ??= this.startBuild(key, this.state.poolStamp(key), this.state.now(), found);
      if (!this.buildSome(build, performance.now() + this.refreshTurnMs)) {
        setImmediate(turn);
        return;
      }
      this.refreshing.delete(key);
      this.poolAnswers.set(key, this.finishBuild(build));
    };
    setImmediate(turn);
  }

  /** Whether what `build` is built from still holds. */
  private isCurrent(build: PoolAnswerBuild): boolean {
    return build.stamp === this.state.poolStamp(build.key) && build.snapshot === this.state.declaredSnapshot() && build.names === this.state.memberNames(build.key);
  }

  private startBuild(key: string, stamp: PoolStamp, now: number, previous: PoolAnswer | undefined): PoolAnswerBuild {
    return {
      key,
      stamp,
      atMs: now,
      snapshot: this.state.declaredSnapshot(),
      clock: this.state.clockAt(now),
      names: this.state.memberNames(key),
      previous,
      next: 0,
      members: [],
      reasons: [],
      activeCount: 0,
      length: 2,
    };
  }

  /**
   * Serialises the build's next members as of its clock, from each member's cached bytes where
   * its inputs are unchanged: once a second every reason's age moves on, and only the reasons
   * are encoded again. Stops once `deadline` (performance.now()) has passed, looking at the
   * clock every MEMBERS_PER_CLOCK_LOOK members; true when every member is done. What membersOf
   * works out per anchor is worked out here once: every member of one pool shares all of it but
   * `explicit`.
   */
  private buildSome(build: PoolAnswerBuild, deadline: number): boolean {
    const { snapshot, clock, names } = build;
    for (let sinceLook = 0; build.next < names.length; build.next++, sinceLook++) {
      if (sinceLook === MEMBERS_PER_CLOCK_LOOK) {
        if (performance.now() >= deadline) return false;
        sinceLook = 0;
      }
      const name = names[build.next] as string;
      const declared = snapshot.byName.get(name);
      const live = this.state.liveOf(name);
      const phased = phaseOf(declared, live, clock);
      if (phased === null) continue;
      const [phase, reason] = phased;
      let member = this.memberJson.get(name);
      if (member === undefined || !isSameInputs(member, declared, live, clock.probes.get(name), snapshot.revision) || member.phase !== phase) {
        const rendered = renderMember(name, declared, live, snapshot, clock);
        if (rendered === null) continue;
        member = rendered;
        this.memberJson.set(name, member);
      }
      const reasonJson = member.tail === null ? null : JSON.stringify(reason);
      build.length += (build.members.length > 0 ? 1 : 0) + member.head.length + (member.tail === null || reasonJson === null ? 0 : member.tail.length + Buffer.byteLength(reasonJson));
      build.members.push(member);
      build.reasons.push(reasonJson);
      if (phase === 'active') build.activeCount++;
    }
    return true;
  }

  /** The answer of a build that has done every member. */
  private finishBuild(build: PoolAnswerBuild): PoolAnswer {
    const { key, stamp, atMs, snapshot, names, previous, members, reasons, activeCount } = build;
    // The same members with the same reasons: the bytes are kept, and a rebuild (once a second
    // for a pool that is read) allocates nothing pool-sized.
    const sameMembers = previous !== undefined && previous.members.length === members.length && members.every((m, i) => previous.members[i] === m);
    const same = sameMembers && reasons.every((r, i) => previous.reasons[i] === r);
    // Members that left the pool and the effective state leave this cache too.
    if (previous !== undefined && previous.names !== names) {
      for (const name of previous.names) if (this.state.poolKeyOf(name) === undefined) this.memberJson.delete(name);
    }
    const json = same ? previous.json : encodeMembers(members, reasons, build.length);
    const explicitByName = sameMembers ? previous.explicitByName : new Map(members.map((m) => [m.name, m.explicit]));
    const minActive = snapshot.policies.get(key)?.minActive ?? 0;
    const stats = { key, size: members.length, activeCount, minActive, health: poolHealthOf(activeCount, minActive, members.length) };
    return { atMs, stamp, json, stats, explicitByName, names, members, reasons };
  }
}

/** One member's view built and serialised afresh, its reason cut out where it can be. */
function renderMember(name: string, declared: LocatedLlm | undefined, live: LiveLlm | undefined, snapshot: DeclaredSnapshot, clock: Required<ViewClock>): MemberJson | null {
  const view = buildViews({
    declared: declared === undefined ? [] : [declared],
    revision: snapshot.revision,
    live: live === undefined ? [] : [live],
    ...clock,
  })[0];
  if (view === undefined) return null;
  const marked = JSON.stringify({ ...view, status: { ...view.status, reason: REASON_MARK } });
  const at = marked.indexOf(REASON_MARK_JSON);
  // An agent's strings could hold the mark too; such a member is then served whole, not cut.
  const cut = at >= 0 && marked.indexOf(REASON_MARK_JSON, at + 1) < 0;
  return {
    name,
    declared,
    live,
    probe: clock.probes.get(name),
    revision: snapshot.revision,
    phase: view.status.phase,
    explicit: view.spec.poolName !== undefined,
    head: Buffer.from(cut ? marked.slice(0, at) : JSON.stringify(view)),
    tail: cut ? Buffer.from(marked.slice(at + REASON_MARK_JSON.length)) : null,
  };
}

/** `[m1,m2,…]` with each member's reason written between its head and tail: one buffer of `length` bytes. */
function encodeMembers(members: readonly MemberJson[], reasons: readonly (string | null)[], length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  out[at++] = 0x5b; // [
  members.forEach((member, i) => {
    if (i > 0) out[at++] = 0x2c; // ,
    // TypedArray set: a native copy, where Buffer#copy costs a JS call per small part.
    out.set(member.head, at);
    at += member.head.length;
    const reason = reasons[i];
    if (member.tail !== null && reason !== null && reason !== undefined) {
      at += out.write(reason, at, 'utf8');
      out.set(member.tail, at);
      at += member.tail.length;
    }
  });
  out[at++] = 0x5d; // ]
  return out;
}

/** Whether a member's cached JSON was built from these very inputs. */
function isSameInputs(member: MemberJson, declared: LocatedLlm | undefined, live: LiveLlm | undefined, probe: StaticProbe | undefined, revision: string | null): boolean {
  return member.declared === declared && member.probe === probe && member.revision === revision && isSameLive(member.live, live);
}

/**
 * Field by field (every field of LiveLlm; a new one belongs here too): the leases hand out a
 * fresh LiveLlm on every read. Written out rather than looped over, on the rebuild's hot path.
 */
function isSameLive(a: LiveLlm | undefined, b: LiveLlm | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return (
    a.name === b.name &&
    a.lastHeartbeatAt === b.lastHeartbeatAt &&
    a.health === b.health &&
    a.healthMessage === b.healthMessage &&
    a.load === b.load &&
    a.gpus === b.gpus &&
    a.restored === b.restored &&
    a.agentId === b.agentId &&
    a.host === b.host &&
    a.poolName === b.poolName &&
    a.type === b.type &&
    a.model === b.model &&
    a.url === b.url
  );
}
