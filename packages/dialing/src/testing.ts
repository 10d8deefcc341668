/**
 * `@app/dialing/testing`: an in-memory {@link DialingDirectory} for unit tests (STYLE.md 6.9:
 * fakes that implement the real interface ship from the owning package). It records the
 * lookups it answers.
 */
import {
  type CampaignPolicy,
  type DialingDirectory,
  type OurNumber,
  type Transport,
} from './types.js';

/** One of our numbers in the fake: its agent and transport. */
export interface FakeNumber {
  e164: string;
  agentId: string;
  /** @defaultValue `'media-streams'` */
  transport?: Transport;
  /** The number's pool; absent: none. */
  pool?: string;
}

/** A campaign in the fake: its policies and its contacts' `maxAttempts`. */
export interface FakeCampaign {
  id: string;
  consentPurpose?: string;
  fromPool?: string;
  retryPolicy?: unknown;
  /** contact id → its `maxAttempts` (null = the campaign's). */
  contacts?: Record<string, number | null>;
}

export interface InMemoryDialingDirectoryInit {
  agents?: readonly string[];
  numbers?: readonly FakeNumber[];
  doNotCall?: readonly string[];
  /** Consents in force, as `{ phone, purpose }`. */
  consents?: ReadonlyArray<{ phone: string; purpose: string }>;
  campaigns?: readonly FakeCampaign[];
}

/** A directory held in memory; mutate its public sets and arrays between calls as needed. */
export class InMemoryDialingDirectory implements DialingDirectory {
  readonly agents: Set<string>;
  readonly numbers: FakeNumber[];
  readonly doNotCall: Set<string>;
  readonly consents: Array<{ phone: string; purpose: string }>;
  readonly campaigns: FakeCampaign[];
  /** Every lookup, in order: `['agentExists', agentId]`, `['ourNumber', e164]`, ... */
  readonly calls: Array<[method: keyof DialingDirectory, ...args: string[]]> = [];

  constructor(init: InMemoryDialingDirectoryInit = {}) {
    this.agents = new Set(init.agents ?? []);
    this.numbers = [...(init.numbers ?? [])];
    this.doNotCall = new Set(init.doNotCall ?? []);
    this.consents = [...(init.consents ?? [])];
    this.campaigns = [...(init.campaigns ?? [])];
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

  async poolNumbers(pool: string): Promise<OurNumber[]> {
    this.calls.push(['poolNumbers', pool]);
    return this.numbers.filter((n) => n.pool === pool).map(toOurNumber);
  }

  async campaignPolicy(campaignId: string, contactId?: string): Promise<CampaignPolicy | null> {
    this.calls.push([
      'campaignPolicy',
      campaignId,
      ...(contactId === undefined ? [] : [contactId]),
    ]);
    const found = this.campaigns.find((c) => c.id === campaignId);
    if (found === undefined) return null;
    return {
      consentPurpose: found.consentPurpose ?? null,
      fromPool: found.fromPool ?? null,
      retryPolicy: found.retryPolicy ?? {},
      contactMaxAttempts: contactId === undefined ? null : (found.contacts?.[contactId] ?? null),
    };
  }
}

function toOurNumber(n: FakeNumber): OurNumber {
  return { e164: n.e164, transport: n.transport ?? 'media-streams' };
}
