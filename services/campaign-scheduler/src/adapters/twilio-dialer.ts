/**
 * What the dialer asks of Twilio's Calls API, through the twilio SDK (twilio.md §5): create a
 * call, list the recent calls between two numbers (to find a call created by a dialer that died
 * before it could record it), and fetch a call's status.
 */
import twilio from 'twilio';

import type { CreateCallParams } from '../domain/call-placement.js';

export interface TwilioDialer {
  /** Creates the call; rejects with the SDK's error (RestException, network error). */
  create(params: CreateCallParams): Promise<{ sid: string }>;
  /** CallSids of outbound-api calls from `from` to `to` created at or after `since`, newest first. */
  findCreated(to: string, from: string, since: Date): Promise<string[]>;
  /** The call's status (`queued`, `ringing`, `in-progress`, `completed`, `busy`, …); null if unknown. */
  status(sid: string): Promise<string | null>;
  /**
   * One cheap authenticated request (a one-call page of the call list): rejects when Twilio
   * refuses the credentials or cannot be reached. Also opens the connection the first call uses.
   */
  check(): Promise<void>;
}

export interface TwilioDialerConfig {
  accountSid: string;
  authToken: string;
  /** Base URL of the Calls API (`https://api.twilio.com` unset); the simulator's in dev and tests. */
  apiBaseUrl?: string | undefined;
  /** Request timeout, ms. */
  timeoutMs: number;
}

/** How many recent calls between the two numbers are looked at. */
const LIST_LIMIT = 20;

export function twilioDialer(config: TwilioDialerConfig): TwilioDialer {
  // autoRetry stays off: a 429 is the dialer's to handle (it must not count as an attempt, and
  // the request waits in PostgreSQL rather than in this process).
  const client = twilio(config.accountSid, config.authToken, { timeout: config.timeoutMs });
  // The product base URL, not edge/region (which rewrite host names): twilio.md 7, option A.
  if (config.apiBaseUrl) client.api.baseUrl = config.apiBaseUrl.replace(/\/+$/, '');
  // The SDK loads each resource's modules on first use; load the Calls API now, so the first
  // create does not leave later than the rate slot it took (tens of ms).
  void client.calls;
  return {
    create: async (params) => {
      const call = await client.calls.create(params);
      return { sid: call.sid };
    },
    findCreated: async (to, from, since) => {
      const calls = await client.calls.list({ to, from, limit: LIST_LIMIT, pageSize: LIST_LIMIT });
      return calls
        .filter((c) => c.direction === 'outbound-api' && c.dateCreated.getTime() >= since.getTime())
        .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime())
        .map((c) => c.sid);
    },
    check: async () => {
      await client.calls.page({ pageSize: 1 });
    },
    status: async (sid) => {
      try {
        return (await client.calls(sid).fetch()).status;
      } catch (err) {
        if ((err as { status?: unknown }).status === 404) return null;
        throw err;
      }
    },
  };
}
