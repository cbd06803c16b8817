// The gateway's routing core, pure: which members a `model` names, which of them may take a
// request now, which one gets it (least-load or round-robin), and how a success or a failure
// changes a member's cooldown. No clock, no randomness and no I/O of its own: the proxy passes
// `nowMs` and `random` in, so every rule here is a table-driven test.

export const STRATEGIES = ['least-load', 'round-robin'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** One member as the gateway routes to it: what the reconciler serves, reduced to what routing needs. */
export interface RouteMember {
  /** The Llm's name (metadata.name). */
  name: string;
  /** Its pool key. */
  pool: string;
  /** spec.model: what the upstream request's `model` becomes. */
  model: string;
  /** The OpenAI API base URL, `http://host:port/v1`. */
  url: string;
  /** spec.apiKeyRef.env: the gateway's environment variable holding the upstream's key. */
  apiKeyEnv: string | null;
  /** Requests waiting in the engine's queue at its agent's last beat; null when not reported. */
  waiting: number | null;
}

export interface Cooldown {
  sinceMs: number;
  untilMs: number;
  reason: string;
}

/** A member's routing state in this gateway: requests in flight, failures in a row, cooldown. */
export interface MemberState {
  inFlight: number;
  consecutiveFailures: number;
  cooldown: Cooldown | null;
}

export const IDLE_STATE: MemberState = Object.freeze({ inFlight: 0, consecutiveFailures: 0, cooldown: null });

/** Failures in a row that cool a member down (Envoy's consecutive-5xx outlier ejection). */
export const FAILURES_TO_COOL_DOWN = 3;

export interface PickInput {
  /** The routable candidates of the target (active members), in a stable order. */
  candidates: readonly RouteMember[];
  states: ReadonlyMap<string, MemberState>;
  /** Members this request already tried: never the same member twice. */
  exclude: ReadonlySet<string>;
  nowMs: number;
  strategy: Strategy;
  /** 0 ≤ random() < 1: breaks least-load ties. */
  random: () => number;
  /** The round-robin position of the target; the caller advances it after each pick. */
  turn: number;
}

export function isCoolingDown(state: MemberState | undefined, nowMs: number): boolean {
  return state?.cooldown != null && state.cooldown.untilMs > nowMs;
}

/**
 * The member that gets the request, or null when every candidate was tried already. Members
 * cooling down are skipped; when every untried candidate is cooling down, the one whose cooldown
 * ends first gets it (Envoy's panic mode: a pool in trouble degrades, it does not refuse).
 */
export function pickMember(input: PickInput): RouteMember | null {
  // No copies in the common case (a first attempt, no member cooling down): this runs per request.
  const untried = input.exclude.size === 0 ? input.candidates : input.candidates.filter((m) => !input.exclude.has(m.name));
  if (untried.length === 0) return null;
  const anyCooling = untried.some((m) => isCoolingDown(input.states.get(m.name), input.nowMs));
  const ready = anyCooling ? untried.filter((m) => !isCoolingDown(input.states.get(m.name), input.nowMs)) : untried;
  if (ready.length === 0) return coolingDownFirstToEnd(untried, input.states);
  if (input.strategy === 'round-robin') return ready[positiveModulo(input.turn, ready.length)] ?? null;
  return leastLoaded(ready, input.states, input.random);
}

/** Fewest in flight through this gateway, then the shortest reported queue, then at random. */
function leastLoaded(ready: readonly RouteMember[], states: ReadonlyMap<string, MemberState>, random: () => number): RouteMember | null {
  let best: RouteMember[] = [];
  let bestInFlight = Infinity;
  let bestWaiting = Infinity;
  for (const member of ready) {
    const inFlight = states.get(member.name)?.inFlight ?? 0;
    // An engine that reports no queue counts as an empty one: it is not worse than a reported 0.
    const waiting = member.waiting ?? 0;
    if (inFlight < bestInFlight || (inFlight === bestInFlight && waiting < bestWaiting)) {
      best = [member];
      bestInFlight = inFlight;
      bestWaiting = waiting;
    } else if (inFlight === bestInFlight && waiting === bestWaiting) {
      best.push(member);
    }
  }
  if (best.length <= 1) return best[0] ?? null;
  return best[Math.min(best.length - 1, Math.floor(random() * best.length))] ?? null;
}

function coolingDownFirstToEnd(members: readonly RouteMember[], states: ReadonlyMap<string, MemberState>): RouteMember | null {
  let first: RouteMember | null = null;
  let firstUntil = Infinity;
  for (const member of members) {
    const until = states.get(member.name)?.cooldown?.untilMs ?? 0;
    if (until < firstUntil) {
      first = member;
      firstUntil = until;
    }
  }
  return first;
}

function positiveModulo(n: number, m: number): number {
  return ((n % m) + m) % m;
}

// Written out rather than spread: these run on every request, and a literal of fixed shape is
// cheaper to make than a spread copy.
export function startRequest(state: MemberState): MemberState {
  return { inFlight: state.inFlight + 1, consecutiveFailures: state.consecutiveFailures, cooldown: state.cooldown };
}

export function endRequest(state: MemberState): MemberState {
  return { inFlight: Math.max(0, state.inFlight - 1), consecutiveFailures: state.consecutiveFailures, cooldown: state.cooldown };
}

/** A success ends the run of failures and any cooldown (a panic pick that worked is healthy again). */
export function recordSuccess(state: MemberState): MemberState {
  if (state.consecutiveFailures === 0 && state.cooldown === null) return state;
  return { ...state, consecutiveFailures: 0, cooldown: null };
}

export interface FailureInput {
  nowMs: number;
  /** --cooldown. */
  cooldownMs: number;
  /** Why, for the state endpoint: `connect ECONNREFUSED`, `HTTP 503`, … */
  reason: string;
  /** A 429's Retry-After, in ms: cools down for that long at once, whatever the count. */
  retryAfterMs: number | null;
  /** Routable members of the member's pool: a pool of one never cools down (it has no other member). */
  poolSize: number;
}

/** The state after a failed attempt: a cooldown after FAILURES_TO_COOL_DOWN in a row, or a 429's Retry-After. */
export function recordFailure(state: MemberState, input: FailureInput): MemberState {
  const consecutiveFailures = state.consecutiveFailures + 1;
  if (input.poolSize <= 1) return { ...state, consecutiveFailures, cooldown: null };
  if (input.retryAfterMs !== null && input.retryAfterMs > 0) {
    return { ...state, consecutiveFailures, cooldown: { sinceMs: input.nowMs, untilMs: input.nowMs + input.retryAfterMs, reason: input.reason } };
  }
  if (consecutiveFailures >= FAILURES_TO_COOL_DOWN && input.cooldownMs > 0) {
    const cooldown = isCoolingDown(state, input.nowMs) && state.cooldown !== null ? { ...state.cooldown, untilMs: input.nowMs + input.cooldownMs, reason: input.reason } : { sinceMs: input.nowMs, untilMs: input.nowMs + input.cooldownMs, reason: input.reason };
    return { ...state, consecutiveFailures, cooldown };
  }
  return { ...state, consecutiveFailures };
}

/** `Retry-After` as seconds or an HTTP date, in ms from `nowMs`; null when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
