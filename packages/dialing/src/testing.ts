/**
 * `@app/dialing/testing`: an in-memory {@link DialingDirectory} for unit tests (STYLE.md 6.9:
 * fakes that implement the real interface ship from the owning package). It records the
 * lookups it answers.
 */
import { type DialingDirectory, type OurNumber, type Transport } from './types.js';

/** One of our numbers in the fake: its agent and transport. */
export interface FakeNumber {
  e164: string;
  agentId: string;
  /** @defaultValue `'media-streams'` */
  transport?: Transport;
}

export interface InMemoryDialingDirectoryInit {
  agents?: readonly string[];
  numbers?: readonly FakeNumber[];
  doNotCall?: readonly string[];
  /** Consents in force, as `{ phone, purpose }`. */
  consents?: ReadonlyArray<{ phone: string; purpose: string }>;
}

/** A directory held in memory; mutate its public sets and arrays between calls as needed. */
export class InMemoryDialingDirectory implements DialingDirectory {
  readonly agents: Set<string>;
  readonly numbers: FakeNumber[];
  readonly doNotCall: Set<string>;
  readonly consents: Array<{ phone: string; purpose: string }>;
  /** Every lookup, in order: `['agentExists', agentId]`, `['ourNumber', e164]`, ... */
  readonly calls: Array<[method: keyof DialingDirectory, ...args: string[]]> = [];

  constructor(init: InMemoryDialingDirectoryInit = {}) {
    this.agents = new Set(init.agents ?? []);
    this.numbers = [...(init.numbers ?? [])];
    this.doNotCall = new Set(init.doNotCall ?? []);
    this.consents = [...(init.consents ?? [])];
  }

  async agentExists(agentId: string): Promise<boolean> {
    this.calls.push(['agentExists', agentId]);
    return this.agents.has(agentId);
  }

  async numbersOf(agentId: string): Promise<OurNumber[]> {
    this.calls.push(['numbersOf', agentId]);
    return this.numbers.filter((n) => n.agentId === agentId).map(toOurNumber);
  }

  async ourNumber(e164: string): Promise<OurNumber | null> {
    this.calls.push(['ourNumber', e164]);
    const found = this.numbers.find((n) => n.e164 === e164);
    return found ? toOurNumber(found) : null;
  }

  async onDoNotCallList(e164: string): Promise<boolean> {
    this.calls.push(['onDoNotCallList', e164]);
    return this.doNotCall.has(e164);
  }

  async hasConsent(e164: string, purpose: string): Promise<boolean> {
    this.calls.push(['hasConsent', e164, purpose]);
    return this.consents.some((c) => c.phone === e164 && c.purpose === purpose);
  }
}

function toOurNumber(n: FakeNumber): OurNumber {
  return { e164: n.e164, transport: n.transport ?? 'media-streams' };
}
