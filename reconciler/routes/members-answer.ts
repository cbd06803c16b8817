// The bytes of the hottest read routes, `/llms/:name/members` and `/llms?pool=KEY`: a pool's
// member views serialised once and shared by every anchor and request until the pool changes
// (the effective state's pool stamp moves) or the answer ages past POOL_ANSWER_MAX_AGE_MS.
// The effective state says what the views are; this module only encodes them.
import type { LocatedLlm } from '../../schema/codec.js';
import { buildViews, phaseOf, type LiveLlm, type StaticProbe } from '../../schema/effective.js';
import { poolHealthOf } from '../../schema/pools.js';
import type { Phase, PoolStats } from '../../schema/views.js';
import type { EffectiveState, PoolStamp } from '../effective-state.js';

/**
 * How long a pool's serialised members may be served again. Real changes (phase, pool, agent,
 * spec) drop it at once; only the ages in reasons, heartbeat times and GPU usage figures (a
 * beat's telemetry, not a change) may lag by up to this.
 */
export const POOL_ANSWER_MAX_AGE_MS = 1000;
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
  /** Each serialised member's JSON, in order: a rebuild that finds them all the same keeps `json`. */
  memberTexts: string[];
}

/**
 * One member's view serialised, with the inputs it was built from. While those inputs hold
 * (compared by identity, the live entry field by field) and its phase is the same, its view
 * differs from a fresh one only in the reason's age: a rebuild writes `head`, the reason and
 * `tail` rather than building and serialising the view again.
 */
interface MemberJson {
  declared: LocatedLlm | undefined;
  live: LiveLlm | undefined;
  probe: StaticProbe | undefined;
  revision: string | null;
  phase: Phase;
  explicit: boolean;
  /** The view's JSON before the reason's value, and after it; null tail: the JSON is all in head. */
  head: string;
  tail: string | null;
  /** The reason last written between head and tail, and the member's whole JSON with it. */
  reason: string | null;
  text: string;
}

export class MembersAnswers {
  private readonly poolAnswers = new Map<string, PoolAnswer>();
  private readonly memberJson = new Map<string, MemberJson>();

  constructor(private readonly state: EffectiveState) {}

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
      answer = this.buildPoolAnswer(key, stamp, now, answer);
      this.poolAnswers.set(key, answer);
    }
    return answer;
  }

  /**
   * The pool's members serialised at `now`, from each member's cached JSON where its inputs are
   * unchanged: once a second every reason's age moves on, and re-rendering only those keeps
   * the rebuild (and its garbage) small. What membersOf works out per anchor is worked out
   * here once: every member of one pool shares all of it but `explicit`.
   */
  private buildPoolAnswer(key: string, stamp: PoolStamp, now: number, previous: PoolAnswer | undefined): PoolAnswer {
    const snapshot = this.state.declaredSnapshot();
    const clock = this.state.clockAt(now);
    const names = this.state.memberNames(key);
    const memberTexts: string[] = [];
    // Whether every member serialises as it did in the previous answer: then its bytes are kept,
    // and a rebuild (once a second for a pool that is read) allocates no pool-sized string.
    let same = previous !== undefined && previous.names === names;
    let activeCount = 0;
    const explicitByName = new Map<string, boolean>();
    for (const name of names) {
      const declared = snapshot.byName.get(name);
      const live = this.state.liveOf(name);
      const phased = phaseOf(declared, live, clock);
      if (phased === null) continue;
      const [phase, reason] = phased;
      let member = this.memberJson.get(name);
      if (member === undefined || !isSameInputs(member, declared, live, clock.probes?.get(name), snapshot.revision) || member.phase !== phase) {
        const rendered = this.renderMember(name, declared, live, now);
        if (rendered === null) continue;
        member = rendered;
        this.memberJson.set(name, member);
      }
      if (member.tail !== null && member.reason !== reason) {
        member.reason = reason;
        member.text = member.head + JSON.stringify(reason) + member.tail;
      }
      if (same && previous?.memberTexts[memberTexts.length] !== member.text) same = false;
      memberTexts.push(member.text);
      if (phase === 'active') activeCount++;
      explicitByName.set(name, member.explicit);
    }
    if (previous !== undefined && memberTexts.length !== previous.memberTexts.length) same = false;
    // Members that left the pool and the effective state leave this cache too.
    if (previous !== undefined && previous.names !== names) {
      for (const name of previous.names) if (!explicitByName.has(name) && this.state.poolKeyOf(name) === undefined) this.memberJson.delete(name);
    }
    const json = same && previous !== undefined ? previous.json : Buffer.from(`[${memberTexts.join(',')}]`);
    const minActive = snapshot.policies.get(key)?.minActive ?? 0;
    const stats = { key, size: memberTexts.length, activeCount, minActive, health: poolHealthOf(activeCount, minActive) };
    return { atMs: now, stamp, json, stats, explicitByName, names, memberTexts };
  }

  /** One member's view built and serialised afresh, its reason cut out where it can be. */
  private renderMember(name: string, declared: LocatedLlm | undefined, live: LiveLlm | undefined, now: number): MemberJson | null {
    const snapshot = this.state.declaredSnapshot();
    const clock = this.state.clockAt(now);
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
    const head = cut ? marked.slice(0, at) : JSON.stringify(view);
    const tail = cut ? marked.slice(at + REASON_MARK_JSON.length) : null;
    return {
      declared,
      live,
      probe: clock.probes?.get(name),
      revision: snapshot.revision,
      phase: view.status.phase,
      explicit: view.spec.poolName !== undefined,
      head,
      tail,
      reason: tail === null ? null : view.status.reason,
      text: tail === null ? head : head + JSON.stringify(view.status.reason) + tail,
    };
  }
}

/** Whether a member's cached JSON was built from these very inputs. */
function isSameInputs(member: MemberJson, declared: LocatedLlm | undefined, live: LiveLlm | undefined, probe: StaticProbe | undefined, revision: string | null): boolean {
  return member.declared === declared && member.probe === probe && member.revision === revision && isSameLive(member.live, live);
}

/** Field by field: the leases hand out a fresh LiveLlm on every read. */
function isSameLive(a: LiveLlm | undefined, b: LiveLlm | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  for (const key in a) if (a[key as keyof LiveLlm] !== b[key as keyof LiveLlm]) return false;
  for (const key in b) if (a[key as keyof LiveLlm] !== b[key as keyof LiveLlm]) return false;
  return true;
}
