// An agent's lease record written in steps small enough for one etcd txn each. A record's write
// claims every name it adds and releases every name it drops in the same txn, and etcd takes at
// most 128 operations of a kind in one txn (its --max-txn-ops): an agent that registers 300
// models at once is written in three steps. Every step is a whole record whose names are exactly
// the ones claimed once it is written, so a claim never outlives its holder's listing; other
// reconcilers see the agent's names arrive (or leave) in a few writes instead of one. Pure.
import type { LeaseRecord, StoredLlm } from './lease-store.js';

/** Names one etcd txn may claim and release together: etcd's default --max-txn-ops (128) less the record's own put. */
export const MAX_NAME_CHANGES_PER_TXN = 127;

/**
 * The records to write one after the other to go from `stored` (the entries etcd holds for the
 * agent; [] when it has no record) to `next` (null: delete the record), each claiming and
 * releasing at most `maxChanges` names; the last is `next` itself. Names are released first,
 * then claimed, in the order of `stored` and `next`. `current` gives an intermediate record its
 * other fields when `next` is null.
 */
export function recordSteps(current: LeaseRecord | null, stored: readonly StoredLlm[], next: LeaseRecord | null, maxChanges = MAX_NAME_CHANGES_PER_TXN): (LeaseRecord | null)[] {
  const nextEntries = next?.llms ?? [];
  const nextNames = new Set(nextEntries.map((e) => e.name));
  const storedNames = new Set(stored.map((e) => e.name));
  const released = stored.filter((e) => !nextNames.has(e.name)).map((e) => e.name);
  const claimed = nextEntries.filter((e) => !storedNames.has(e.name)).map((e) => e.name);
  const base = next ?? current;
  if (released.length + claimed.length <= maxChanges || base === null) return [next];
  const steps: (LeaseRecord | null)[] = [];
  let releasedSoFar = 0;
  let claimedSoFar = 0;
  while (released.length - releasedSoFar + (claimed.length - claimedSoFar) > maxChanges) {
    const releasing = Math.min(maxChanges, released.length - releasedSoFar);
    releasedSoFar += releasing;
    claimedSoFar += Math.min(maxChanges - releasing, claimed.length - claimedSoFar);
    const stillHeld = new Set(released.slice(releasedSoFar));
    const claimedNow = new Set(claimed.slice(0, claimedSoFar));
    const llms = [...nextEntries.filter((e) => storedNames.has(e.name) || claimedNow.has(e.name)), ...stored.filter((e) => stillHeld.has(e.name))];
    steps.push({ ...base, llms });
  }
  steps.push(next);
  return steps;
}
