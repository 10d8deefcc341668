/**
 * What a handoff asks of Twilio's REST API (twilio.md §5.3, the Conference and Participant
 * resources) through the twilio SDK: move a live call to new TwiML, dial the human's leg, read
 * a call's status and who is in a conference.
 */
import twilio from 'twilio';

export interface TwilioVoice {
  /** Replaces the TwiML the call runs (its Media Stream, and so the AI, stops). */
  redirect(callSid: string, twiml: string): Promise<void>;
  /** Places a call running `twiml` once answered; returns its CallSid. */
  dial(to: string, from: string, twiml: string, timeoutSec: number): Promise<string>;
  /**
   * Ends the call whatever its state: `canceled` while it is queued or ringing, `completed` once
   * answered (twilio.md §5.3: each status applies to those states only).
   */
  hangUp(callSid: string): Promise<void>;
  /** The call's status (`queued`, `ringing`, `in-progress`, `completed`, `busy`, …). */
  callStatus(callSid: string): Promise<string>;
  /** CallSids connected in the live (`init` or `in-progress`) conference of that name. */
  conferenceMembers(name: string): Promise<string[]>;
}

export interface TwilioVoiceConfig {
  accountSid: string;
  authToken: string;
  /** Base URL of the REST API (`https://api.twilio.com` unset); the simulator's in dev and tests. */
  apiBaseUrl?: string | undefined;
  timeoutMs: number;
}

export function twilioVoice(config: TwilioVoiceConfig): TwilioVoice {
  const client = twilio(config.accountSid, config.authToken, { timeout: config.timeoutMs });
  // The product base URL, not edge/region (twilio.md §7, option A).
  if (config.apiBaseUrl) client.api.baseUrl = config.apiBaseUrl.replace(/\/+$/, '');
  return {
    redirect: async (callSid, twiml) => {
      await client.calls(callSid).update({ twiml });
    },
    dial: async (to, from, twiml, timeoutSec) => {
      const call = await client.calls.create({ to, from, twiml, timeout: timeoutSec });
      return call.sid;
    },
    hangUp: async (callSid) => {
      const { status } = await client.calls(callSid).fetch();
      if (status === 'queued' || status === 'ringing') {
        await client.calls(callSid).update({ status: 'canceled' });
      } else if (status === 'in-progress') {
        await client.calls(callSid).update({ status: 'completed' });
      }
    },
    callStatus: async (callSid) => (await client.calls(callSid).fetch()).status,
    conferenceMembers: async (name) => {
      const live = [
        ...(await client.conferences.list({ friendlyName: name, status: 'in-progress' })),
        ...(await client.conferences.list({ friendlyName: name, status: 'init' })),
      ];
      const members: string[] = [];
      for (const conf of live) {
        for (const p of await client.conferences(conf.sid).participants.list()) {
          if (p.status === 'connected') members.push(p.callSid);
        }
      }
      return members;
    },
  };
}
