/**
 * The agent's disclosure (issue 10) in {@link CallSession}: the first thing asked of the model,
 * word for word with no tools, before the greeting and even when the agent waits for the caller;
 * recorded only once said in full; said again after a provider drop or a failed response.
 */
import { describe, expect, it } from 'vitest';

import {
  CallSession,
  disclosureInstructions,
  type CallMedia,
  type CallSessionDeps,
} from '../src/domain/call-session.js';
import type { RealtimeHandlers, RealtimeLeg } from '../src/domain/realtime-leg.js';

const NOTICE = 'This call is recorded and you are talking to an AI assistant.';

type Sent = { op: 'respond'; instructions?: string; noTools?: boolean } | { op: string };

function harness(overrides: Partial<CallSessionDeps> = {}, media: 'twilio' | 'sip' = 'twilio') {
  const sent: Sent[] = [];
  let said = 0;
  let handlers: RealtimeHandlers | undefined;
  const realtime: RealtimeLeg = {
    sendAudio: () => true,
    truncate: () => sent.push({ op: 'truncate' }),
    createResponse: (instructions, options) =>
      sent.push({
        op: 'respond',
        ...(instructions ? { instructions } : {}),
        ...(options?.noTools ? { noTools: true } : {}),
      }),
    sendToolOutput: () => sent.push({ op: 'tool-output' }),
    restore: () => sent.push({ op: 'restore' }),
    inject: () => sent.push({ op: 'inject' }),
    close: () => sent.push({ op: 'close' }),
  };
  const callMedia: CallMedia =
    media === 'twilio'
      ? { kind: 'twilio', streamSid: 'MZ1', twilio: { send: () => true, close: () => {} } }
      : { kind: 'provider', hangUp: () => {} };
  const session = new CallSession({
    callId: 'call-1',
    media: callMedia,
    openRealtime: (h) => {
      handlers = h;
      return realtime;
    },
    emit: () => {},
    disclosure: { text: NOTICE, said: () => (said += 1) },
    recovery: { retryDelayMs: 1 },
    ...overrides,
  });
  session.start();
  session.opened();
  return { session, sent, said: () => said, provider: () => handlers! };
}

const disclosure = { op: 'respond', instructions: disclosureInstructions(NOTICE), noTools: true };

describe('CallSession - disclosure', () => {
  it.each(['twilio', 'sip'] as const)(
    'says it first, records it once said, then greets (%s)',
    (media) => {
      const h = harness({ greeting: { first: true, instructions: 'Greet warmly.' } }, media);
      expect(h.sent).toEqual([disclosure]);
      h.session.responseCreated();
      h.session.responseDone('completed');
      expect(h.said()).toBe(1);
      expect(h.sent).toEqual([disclosure, { op: 'respond', instructions: 'Greet warmly.' }]);
      // Later responses are ordinary ones: no second record.
      h.session.responseCreated();
      h.session.responseDone('completed');
      expect(h.said()).toBe(1);
    },
  );

  it('is said even when the agent waits for the caller, with no greeting after it', () => {
    const h = harness({ greeting: { first: false } });
    expect(h.sent).toEqual([disclosure]);
    h.session.responseCreated();
    h.session.responseDone('completed');
    expect(h.said()).toBe(1);
    expect(h.sent).toEqual([disclosure]);
  });

  it('quotes the text so that the model (and the simulator) say exactly it', () => {
    expect(disclosureInstructions(NOTICE)).toBe(`Say "${NOTICE}" word for word, and nothing else.`);
  });

  it('is not recorded when the caller cuts it short, and no greeting talks over them', () => {
    const h = harness();
    h.session.responseCreated();
    h.session.speechStarted();
    h.session.responseDone('cancelled');
    expect(h.said()).toBe(0);
    expect(h.sent.filter((s) => s.op === 'respond')).toEqual([disclosure]);
  });

  it('is asked for again after a failed response, before anything else', async () => {
    const h = harness();
    h.session.responseCreated();
    h.session.providerError({ code: 'server_error', type: 'server_error', message: 'boom' });
    h.session.responseDone('failed');
    await new Promise((r) => setTimeout(r, 20));
    expect(h.sent.filter((s) => s.op === 'respond')).toEqual([disclosure, disclosure]);
    h.session.responseCreated();
    h.session.responseDone('completed');
    expect(h.said()).toBe(1);
  });

  it('is said again in full after the provider connection dropped during it', () => {
    const h = harness();
    h.session.responseCreated();
    h.session.interrupted(1006);
    h.session.restored();
    expect(h.sent.filter((s) => s.op !== 'close')).toEqual([
      disclosure,
      { op: 'restore' },
      disclosure,
    ]);
    h.session.responseCreated();
    h.session.responseDone('completed');
    expect(h.said()).toBe(1);
    h.session.end('caller-hangup');
  });

  it('Media Streams: is recorded once Twilio played it out, not when the caller cut it', async () => {
    const frame = Buffer.alloc(160, 0xff).toString('base64');
    const heard = harness();
    heard.session.responseCreated();
    heard.session.audioDelta('item_disclosure', frame, 0);
    heard.session.responseDone('completed');
    // Generated, but still playing at Twilio (its mark not echoed): not yet heard.
    await new Promise((r) => setTimeout(r, 120));
    expect(heard.said()).toBe(0);
    heard.session.markEchoed('m1');
    await new Promise((r) => setTimeout(r, 120));
    expect(heard.said()).toBe(1);
    heard.session.end('caller-hangup');

    const cut = harness();
    cut.session.responseCreated();
    cut.session.audioDelta('item_disclosure', frame, 0);
    cut.session.responseDone('completed');
    cut.session.speechStarted();
    await new Promise((r) => setTimeout(r, 120));
    expect(cut.said()).toBe(0);
    expect(cut.sent).toContainEqual({ op: 'truncate' });
    cut.session.end('caller-hangup');

    const hungUp = harness();
    hungUp.session.responseCreated();
    hungUp.session.audioDelta('item_disclosure', frame, 0);
    hungUp.session.responseDone('completed');
    hungUp.session.end('caller-hangup');
    await new Promise((r) => setTimeout(r, 120));
    expect(hungUp.said()).toBe(0);
  });

  it('changes nothing for an agent without one', () => {
    const h = harness({ disclosure: null });
    expect(h.sent).toEqual([{ op: 'respond' }]);
  });
});
