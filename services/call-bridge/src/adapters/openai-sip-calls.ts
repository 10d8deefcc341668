/**
 * OpenAI's REST actions on a SIP call (openai-realtime.md 6, 7.2) through the openai SDK:
 * accept with the agent's session config, hang up, and transfer by SIP REFER.
 */
import type OpenAI from 'openai';

import { sessionConfig, type AgentSession } from './openai-realtime.js';

export interface SipCallActions {
  accept(openaiCallId: string, agent: AgentSession): Promise<void>;
  hangup(openaiCallId: string): Promise<void>;
  /** `targetUri`: `tel:+E164` or `sip:user@host`, placed in the REFER's `Refer-To`. */
  refer(openaiCallId: string, targetUri: string): Promise<void>;
}

export function openAISipCalls(client: OpenAI): SipCallActions {
  return {
    async accept(openaiCallId, agent) {
      // The same session object a Media Streams call sends as session.update: one agent, one
      // behaviour, whichever path the call took.
      await client.realtime.calls.accept(openaiCallId, sessionConfig(agent));
    },
    async hangup(openaiCallId) {
      await client.realtime.calls.hangup(openaiCallId);
    },
    async refer(openaiCallId, targetUri) {
      await client.realtime.calls.refer(openaiCallId, { target_uri: targetUri });
    },
  };
}

const E164 = /^\+[1-9]\d{1,14}$/;
const SIP_URI = /^sips?:[^\s@]+@[^\s@]+$/i;

/** A transfer target as a REFER URI: E.164 becomes `tel:`; null when it is neither. */
export function referUri(target: string): string | null {
  const t = target.trim();
  if (E164.test(t)) return `tel:${t}`;
  if (/^tel:\+[1-9]\d{1,14}$/.test(t)) return t;
  if (SIP_URI.test(t)) return t;
  return null;
}
