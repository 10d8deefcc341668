import { describe, expect, it } from 'vitest';

import {
  CallSession,
  type RealtimeLeg,
  type SessionEvent,
  type TwilioOutbound,
} from '../src/domain/call-session.js';

type RealtimeCall =
  | { op: 'audio'; payload: string }
  | { op: 'truncate'; itemId: string; audioEndMs: number }
  | { op: 'cancel' }
  | { op: 'inject'; text: string; role: string }
  | { op: 'close' };

function harness() {
  const toTwilio: TwilioOutbound[] = [];
  const twilioClosed: Array<{ code: number; reason: string }> = [];
  const toOpenAI: RealtimeCall[] = [];
  const events: SessionEvent[] = [];
  const ended: string[] = [];
  let now = 1_000;
  const realtime: RealtimeLeg = {
    sendAudio: (payload) => toOpenAI.push({ op: 'audio', payload }),
    truncate: (itemId, audioEndMs) => toOpenAI.push({ op: 'truncate', itemId, audioEndMs }),
    cancelResponse: () => toOpenAI.push({ op: 'cancel' }),
    inject: (text, role) => toOpenAI.push({ op: 'inject', text, role }),
    close: () => toOpenAI.push({ op: 'close' }),
  };
  const session = new CallSession({
    callId: 'call-1',
    streamSid: 'MZ1',
    twilio: {
      send: (m) => toTwilio.push(m),
      close: (code, reason) => twilioClosed.push({ code, reason }),
    },
    emit: (e) => events.push(e),
    now: () => now,
    onEnded: (reason) => ended.push(reason),
  });
  session.start(realtime);
  return {
    session,
    toTwilio,
    twilioClosed,
    toOpenAI,
    events,
    ended,
    advance: (ms: number) => (now += ms),
  };
}

const frame = (bytes: number) => Buffer.alloc(bytes, 0xff).toString('base64');

describe('CallSession', () => {
  it('passes caller audio through and sends each agent delta with a mark', () => {
    const h = harness();
    expect(h.events).toEqual([{ event: 'answered', data: {} }]);
    h.session.callerAudio('AAAA');
    expect(h.toOpenAI).toEqual([{ op: 'audio', payload: 'AAAA' }]);
    h.session.responseCreated();
    h.session.agentAudio('item_1', frame(160));
    expect(h.toTwilio).toEqual([
      { event: 'media', streamSid: 'MZ1', media: { payload: frame(160) } },
      { event: 'mark', streamSid: 'MZ1', mark: { name: 'm1' } },
    ]);
  });

  it('on speech_started: clear at once, cancel, truncate at the heard audio, barge-in event', () => {
    const h = harness();
    h.session.responseCreated();
    for (let i = 0; i < 5; i++) h.session.agentAudio('item_1', frame(160));
    h.session.markEchoed('m3'); // 60 ms played of 100 ms sent
    h.session.speechStarted();
    const clearAt = h.toTwilio.findIndex((m) => m.event === 'clear');
    expect(clearAt).toBe(10);
    expect(h.toOpenAI).toEqual([
      { op: 'cancel' },
      { op: 'truncate', itemId: 'item_1', audioEndMs: 60 },
    ]);
    expect(h.events.at(-1)).toEqual({
      event: 'barge-in',
      data: { itemId: 'item_1', audioEndMs: 60, reactionMs: 0 },
    });
    // Late deltas of the cut item are dropped; a cleared mark's echo changes nothing.
    h.session.agentAudio('item_1', frame(160));
    h.session.markEchoed('m5');
    expect(h.toTwilio).toHaveLength(11);
    // A second speech_started with nothing playing does nothing.
    h.session.responseDone();
    h.session.speechStarted();
    expect(h.toTwilio).toHaveLength(11);
    expect(h.toOpenAI).toHaveLength(2);
  });

  it('publishes final transcripts of both sides', () => {
    const h = harness();
    h.session.callerTranscript('item_c', 'Hello?');
    h.session.agentTranscript('item_a', 'Hi there.');
    expect(h.events.slice(1)).toEqual([
      {
        event: 'transcript',
        data: { role: 'caller', text: 'Hello?', itemId: 'item_c', final: true },
      },
      {
        event: 'transcript',
        data: { role: 'agent', text: 'Hi there.', itemId: 'item_a', final: true },
      },
    ]);
  });

  it('ends once: closes both legs and publishes ended with the duration', () => {
    const h = harness();
    h.advance(2_500);
    h.session.end('caller-hangup');
    h.session.end('caller-hangup');
    expect(h.toOpenAI).toEqual([{ op: 'close' }]);
    expect(h.twilioClosed).toEqual([{ code: 1000, reason: 'call ended' }]);
    expect(h.ended).toEqual(['caller-hangup']);
    const ended = h.events.filter((e) => e.event === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.data).toMatchObject({ reason: 'caller-hangup', durationMs: 2_500 });
    // Nothing flows after the end.
    h.session.callerAudio('AAAA');
    expect(h.toOpenAI).toHaveLength(1);
  });

  it('a fatal OpenAI error publishes an error and ends the call with reason error', () => {
    const h = harness();
    h.session.realtimeError('realtime_closed', 'gone', true);
    expect(h.events.map((e) => e.event)).toEqual(['answered', 'error', 'ended']);
    expect(h.twilioClosed).toEqual([{ code: 1011, reason: 'bridge error' }]);
  });
});
