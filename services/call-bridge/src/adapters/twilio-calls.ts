/**
 * What the bridge asks of Twilio's REST API for a live call, through the twilio SDK: when the
 * voice model is gone for good, replace the call's TwiML with a short `<Say>` and `<Hangup>`
 * (twilio.md 5.3 "Update a live call"). Twilio then stops the media stream and speaks with its
 * own text-to-speech, so the caller hears an apology even though our voice is lost.
 */
import twilio from 'twilio';

export interface TwilioCalls {
  /** Says `text` to the caller and hangs up. Rejects when Twilio refused or did not answer. */
  sayAndHangUp(callSid: string, text: string): Promise<void>;
}

export interface TwilioCallsConfig {
  accountSid: string;
  authToken: string;
  /** Base URL of the Calls API (`https://api.twilio.com` unset); the simulator's in dev and tests. */
  apiBaseUrl?: string | undefined;
  /** Request timeout, ms. @defaultValue 5 000 */
  timeoutMs?: number;
}

/** The TwiML of a polite end (twilio.md 3: `<Say>` then `<Hangup>`). */
export function apologyTwiml(text: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(text);
  response.hangup();
  return response.toString();
}

export function twilioCalls(config: TwilioCallsConfig): TwilioCalls {
  const client = twilio(config.accountSid, config.authToken, {
    timeout: config.timeoutMs ?? 5_000,
  });
  // The product base URL, not edge/region (which rewrite host names): twilio.md 7, option A.
  if (config.apiBaseUrl) client.api.baseUrl = config.apiBaseUrl.replace(/\/+$/, '');
  return {
    sayAndHangUp: async (callSid, text) => {
      await client.calls(callSid).update({ twiml: apologyTwiml(text) });
    },
  };
}
