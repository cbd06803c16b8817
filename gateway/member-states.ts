// The gateway's mutable routing state: one MemberState per member name, changed only through the
// pure transitions of routing.ts. Idle members with no failures are dropped, so the map holds
// only members that something is happening to.
import { IDLE_STATE, type MemberState } from './routing.js';

export class MemberStates {
  private readonly states = new Map<string, MemberState>();

  get(name: string): MemberState {
    return this.states.get(name) ?? IDLE_STATE;
  }

  update(name: string, change: (state: MemberState) => MemberState): MemberState {
    const next = change(this.get(name));
    if (next.inFlight === 0 && next.consecutiveFailures === 0 && next.cooldown === null) this.states.delete(name);
    else this.states.set(name, next);
    return next;
  }

  /** The live map, read by pickMember; members absent from it are idle. */
  view(): ReadonlyMap<string, MemberState> {
    return this.states;
  }

  names(): IterableIterator<string> {
    return this.states.keys();
  }
}
