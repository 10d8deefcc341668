import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { ToolResult } from '@app/contracts';

import {
  CallSession,
  type CallSessionDeps,
  type HandoffAsk,
  type HandoffOutcome,
  type SessionEvent,
  type TwilioOutbound,
} from '../src/domain/call-session.js';
import type { HistoryItem, RealtimeHandlers, RealtimeLeg } from '../src/domain/realtime-leg.js';
import type { RunTool } from '../src/domain/tool-calls.js';

type RealtimeCall =
  | { op: 'audio'; payload: string }
  | { op: 'truncate'; itemId: string; audioEndMs: number }
  | { op: 'respond'; instructions?: string; noTools?: boolean }
  | { op: 'tool-output'; callId: string; output: string }
  | { op: 'restore'; history: HistoryItem[] }
  | { op: 'inject'; text: string; role: string }
  | { op: 'close' };

/** A session over recording fakes of both legs; the provider leg opens at once. */
function harness(overrides: Partial<CallSessionDeps> = {}, opts: { open?: boolean } = {}) {
  const toTwilio: TwilioOutbound[] = [];
  const twilioClosed: Array<{ code: number; reason: string }> = [];
  const toOpenAI: RealtimeCall[] = [];
  const events: SessionEvent[] = [];
  const ended: string[] = [];
  const observed: string[] = [];
  let twilioAccepts = true;
  let openAIAccepts = true;
  let now = 1_000;
  let handlers: RealtimeHandlers | undefined;
  const realtime: RealtimeLeg = {
    sendAudio: (payload) => {
      if (!openAIAccepts) return false;
      toOpenAI.push({ op: 'audio', payload });
      return true;
    },
    truncate: (itemId, audioEndMs) => toOpenAI.push({ op: 'truncate', itemId, audioEndMs }),
    createResponse: (instructions, options) =>
      toOpenAI.push({
        op: 'respond',
        ...(instructions ? { instructions } : {}),
        ...(options?.noTools ? { noTools: true } : {}),
      }),
    sendToolOutput: (callId, output) => toOpenAI.push({ op: 'tool-output', callId, output }),
    restore: (history) => toOpenAI.push({ op: 'restore', history: [...history] }),
    inject: (text, role) => toOpenAI.push({ op: 'inject', text, role }),
    close: () => toOpenAI.push({ op: 'close' }),
  };
  const session = new CallSession({
    callId: 'call-1',
    media: {
      kind: 'twilio',
      streamSid: 'MZ1',
      twilio: {
        send: (m) => {
          if (!twilioAccepts && m.event === 'media') return false;
          toTwilio.push(m);
          return true;
        },
        close: (code, reason) => twilioClosed.push({ code, reason }),
      },
    },
    openRealtime: (h) => {
      handlers = h;
      return realtime;
    },
    emit: (e) => events.push(e),
    now: () => now,
    onEnded: (reason) => ended.push(reason),
    observer: {
      frameDropped: (d) => observed.push(`dropped:${d}`),
      bargeIn: (reaction, truncErr) => observed.push(`barge-in:${reaction}:${truncErr}`),
      providerError: (code) => observed.push(`error:${code}`),
      setup: (ms) => observed.push(`setup:${ms}`),
      recovered: () => observed.push('recovered'),
    },
    ...overrides,
  });
  session.start();
  if (opts.open !== false) session.opened();
  return {
    session,
    provider: () => handlers!,
    toTwilio,
    twilioClosed,
    toOpenAI,
    events,
    ended,
    observed,
    advance: (ms: number) => (now += ms),
    twilioBlocked: (blocked: boolean) => (twilioAccepts = !blocked),
    openAIBlocked: (blocked: boolean) => (openAIAccepts = !blocked),
  };
}

const frame = (bytes: number) => Buffer.alloc(bytes, 0xff).toString('base64');
const types = (events: SessionEvent[]) => events.map((e) => e.event);

describe('CallSession - media', () => {
  it('greets first, passes caller audio through and sends each agent frame with a mark', () => {
    const h = harness();
    expect(h.events).toEqual([{ event: 'answered', data: {} }]);
    expect(h.toOpenAI).toEqual([{ op: 'respond' }]);
    h.session.callerAudio('AAAA');
    expect(h.toOpenAI.at(-1)).toEqual({ op: 'audio', payload: 'AAAA' });
    h.session.responseCreated();
    h.session.audioDelta('item_1', frame(160), 1_000);
    expect(h.toTwilio).toEqual([
      { event: 'media', streamSid: 'MZ1', media: { payload: frame(160) } },
      { event: 'mark', streamSid: 'MZ1', mark: { name: 'm1' } },
    ]);
  });

  it('does not greet when the agent waits for the caller, and passes greeting instructions', () => {
    expect(harness({ greeting: { first: false } }).toOpenAI).toEqual([]);
    expect(
      harness({ greeting: { first: true, instructions: 'Say "Clinic, hello".' } }).toOpenAI,
    ).toEqual([{ op: 'respond', instructions: 'Say "Clinic, hello".' }]);
  });

  it('holds caller audio until the provider is open, then sends it in order', () => {
    const h = harness({}, { open: false });
    h.session.callerAudio('A1');
    h.session.callerAudio('A2');
    expect(h.toOpenAI).toEqual([]);
    h.session.opened();
    expect(h.toOpenAI).toEqual([
      { op: 'respond' },
      { op: 'audio', payload: 'A1' },
      { op: 'audio', payload: 'A2' },
    ]);
  });

  it('re-cuts agent deltas into 20 ms frames and pads the last one with silence', () => {
    const h = harness();
    h.session.audioDelta('item_1', frame(250), 1_000);
    expect(h.toTwilio.filter((m) => m.event === 'media')).toHaveLength(1);
    h.session.audioDelta('item_1', frame(100), 1_000);
    expect(h.toTwilio.filter((m) => m.event === 'media')).toHaveLength(2);
    h.session.audioDone('item_1');
    const media = h.toTwilio.filter((m) => m.event === 'media');
    expect(media).toHaveLength(3);
    expect(Buffer.from(media[2]!.media.payload, 'base64')).toHaveLength(160);
  });

  it('drops frames a full socket cannot take instead of queueing them, and counts them', () => {
    const h = harness();
    h.twilioBlocked(true);
    h.session.audioDelta('item_1', frame(320), 1_000);
    expect(h.toTwilio).toEqual([]);
    h.openAIBlocked(true);
    h.session.callerAudio('AAAA');
    expect(h.observed).toEqual([
      'dropped:openai-to-caller',
      'dropped:openai-to-caller',
      'dropped:caller-to-openai',
    ]);
    h.session.end('caller-hangup');
    expect(h.events.at(-1)?.data).toMatchObject({ metrics: { framesDropped: 3, framesOut: 0 } });
  });

  it('measures set-up from the voice webhook to the first session config', () => {
    const h = harness({ setupStartMs: 5_000, epochNow: () => 5_420 }, { open: false });
    h.session.opened();
    expect(h.observed).toEqual(['setup:420']);
    h.session.end('caller-hangup');
    expect(h.events.at(-1)?.data).toMatchObject({ metrics: { setupMs: 420 } });
  });
});

describe('CallSession - barge-in', () => {
  it('on speech_started: clear at once, truncate at the heard audio, barge-in event', () => {
    const h = harness();
    h.session.responseCreated();
    for (let i = 0; i < 5; i++) h.session.audioDelta('item_1', frame(160), 1_000);
    h.session.markEchoed('m3'); // 60 ms confirmed played of 100 ms sent
    h.advance(5); // and Twilio played on for 5 ms
    h.session.speechStarted();
    const clearAt = h.toTwilio.findIndex((m) => m.event === 'clear');
    expect(clearAt).toBe(10);
    // No response.cancel: the server cancelled it (interrupt_response).
    expect(h.toOpenAI.slice(1)).toEqual([{ op: 'truncate', itemId: 'item_1', audioEndMs: 65 }]);
    expect(h.events.at(-1)).toEqual({
      event: 'barge-in',
      data: { itemId: 'item_1', audioEndMs: 65, reactionMs: 0 },
    });
    // 5 ms of the truncation point rest on elapsed time, not on an echo.
    expect(h.observed).toEqual(['barge-in:0:5']);
    // Late deltas of the cut item are dropped; a cleared mark's echo changes nothing.
    h.session.audioDelta('item_1', frame(160), 1_000);
    h.session.markEchoed('m5');
    expect(h.toTwilio).toHaveLength(11);
    // A second speech_started with nothing playing does nothing.
    h.session.responseDone('cancelled');
    h.session.speechStarted();
    expect(h.toTwilio).toHaveLength(11);
    expect(h.toOpenAI).toHaveLength(2);
  });
});

describe('CallSession - transcripts and end', () => {
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
    expect(h.toOpenAI).toEqual([{ op: 'respond' }, { op: 'close' }]);
    expect(h.twilioClosed).toEqual([{ code: 1000, reason: 'call ended' }]);
    expect(h.ended).toEqual(['caller-hangup']);
    const ended = h.events.filter((e) => e.event === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.data).toMatchObject({ reason: 'caller-hangup', durationMs: 2_500 });
    // Nothing flows after the end.
    h.session.callerAudio('AAAA');
    expect(h.toOpenAI).toHaveLength(2);
  });
});

describe('CallSession - provider faults', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A conversation: greeting, a caller turn, and the agent halfway through its answer. */
  function midAnswer(h: ReturnType<typeof harness>) {
    h.session.responseCreated();
    h.session.audioDelta('a0', frame(160), 1_000);
    h.session.agentTranscript('a0', 'Hello, how can I help?');
    h.session.responseDone('completed');
    h.session.callerCommitted('c1');
    h.session.callerTranscript('c1', 'When do you open?');
    h.session.responseCreated();
    h.session.audioDelta('a1', frame(320), 1_000);
  }

  it('a dropped connection is restored with the same context and the cut answer is given again', () => {
    const apologize = vi.fn(() => Promise.resolve());
    const h = harness({ apologize });
    midAnswer(h);
    h.toOpenAI.length = 0;
    h.toTwilio.length = 0;
    h.provider().interrupted(1006);
    // Twilio stops playing the cut answer; caller audio waits for the new connection.
    expect(h.toTwilio).toEqual([{ event: 'clear', streamSid: 'MZ1' }]);
    h.session.callerAudio('HELD');
    expect(h.toOpenAI).toEqual([]);
    vi.advanceTimersByTime(1_000);
    h.provider().restored();
    expect(h.toOpenAI).toEqual([
      {
        op: 'restore',
        history: [
          { role: 'agent', text: 'Hello, how can I help?' },
          { role: 'caller', text: 'When do you open?' },
        ],
      },
      { op: 'respond' },
      { op: 'audio', payload: 'HELD' },
    ]);
    expect(h.observed).toContain('recovered');
    expect(types(h.events)).toEqual(['answered', 'transcript', 'transcript', 'error']);
    expect(h.events.at(-1)?.data).toMatchObject({ code: 'realtime_disconnected', retryable: true });
    // The call goes on: the reconnect deadline was cleared, nothing ends it.
    vi.advanceTimersByTime(60_000);
    expect(h.ended).toEqual([]);
    expect(apologize).not.toHaveBeenCalled();
  });

  it('after a drop between turns the new session is restored without a new answer', () => {
    const h = harness();
    h.session.responseCreated();
    h.session.audioDelta('a0', frame(160), 1_000);
    h.session.agentTranscript('a0', 'Hello.');
    h.session.responseDone('completed');
    h.toOpenAI.length = 0;
    h.provider().interrupted(1006);
    h.provider().restored();
    expect(h.toOpenAI).toEqual([{ op: 'restore', history: [{ role: 'agent', text: 'Hello.' }] }]);
  });

  it('a connection lost for good: apology through Twilio, then ended with provider-error', async () => {
    let said!: () => void;
    const apologize = vi.fn(() => new Promise<void>((resolve) => (said = resolve)));
    const h = harness({ apologize });
    midAnswer(h);
    h.provider().lost(1006, '');
    expect(apologize).toHaveBeenCalledTimes(1);
    expect(h.toOpenAI.at(-1)).toEqual({ op: 'close' });
    // Twilio stops the stream to speak the new TwiML; the reason stays provider-error.
    h.session.end('caller-hangup');
    said();
    await vi.runAllTimersAsync();
    expect(h.ended).toEqual(['provider-error']);
    const error = h.events.find((e) => e.event === 'error');
    expect(error?.data).toMatchObject({ code: 'realtime_lost', retryable: false });
    expect(h.twilioClosed).toEqual([{ code: 1011, reason: 'bridge error' }]);
  });

  it('a reconnect that takes too long gives the call up', async () => {
    const apologize = vi.fn(() => Promise.resolve());
    const h = harness({ apologize, recovery: { reconnectTimeoutMs: 3_000 } });
    h.provider().interrupted(1006);
    vi.advanceTimersByTime(2_999);
    expect(apologize).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    await vi.runAllTimersAsync();
    expect(apologize).toHaveBeenCalledTimes(1);
    expect(h.ended).toEqual(['provider-error']);
    // A late reconnect of the given-up connection changes nothing.
    h.provider().restored();
    expect(h.toOpenAI.filter((c) => c.op === 'restore')).toEqual([]);
  });

  it('without Twilio credentials a lost provider just ends the call', () => {
    const h = harness({ apologize: null });
    h.provider().lost(1000, 'bye');
    expect(h.ended).toEqual(['provider-error']);
  });

  it('a failed response is asked for again with backoff, and too many failures end the call', async () => {
    const apologize = vi.fn(() => Promise.resolve());
    const h = harness({ apologize, recovery: { responseRetries: 2, retryDelayMs: 100 } });
    h.toOpenAI.length = 0;
    const serverError = { code: 'server_error', type: 'server_error', message: 'boom' };
    h.provider().providerError(serverError);
    vi.advanceTimersByTime(99);
    expect(h.toOpenAI).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.toOpenAI).toEqual([{ op: 'respond' }]);
    h.provider().providerError({ ...serverError, code: 'rate_limit_exceeded' });
    vi.advanceTimersByTime(200);
    expect(h.toOpenAI).toEqual([{ op: 'respond' }, { op: 'respond' }]);
    h.provider().providerError(serverError);
    await vi.runAllTimersAsync();
    expect(apologize).toHaveBeenCalledTimes(1);
    expect(h.ended).toEqual(['provider-error']);
    expect(h.observed.filter((o) => o.startsWith('error:'))).toEqual([
      'error:server_error',
      'error:rate_limit_exceeded',
      'error:server_error',
    ]);
  });

  it('harmless and client errors are not fatal; malformed events are counted and skipped', () => {
    const h = harness();
    h.provider().providerError({
      code: 'response_cancel_not_active',
      type: 'invalid_request_error',
      message: 'no active response',
    });
    h.provider().providerError({
      code: 'invalid_value',
      type: 'invalid_request_error',
      message: 'bad value',
    });
    h.provider().malformed('Could not parse Realtime WebSocket event data as JSON.');
    expect(types(h.events)).toEqual(['answered', 'error', 'error']);
    expect(h.events[1]?.data).toMatchObject({ code: 'invalid_value', retryable: false });
    expect(h.events[2]?.data).toMatchObject({ code: 'realtime_malformed_event' });
    expect(h.ended).toEqual([]);
    h.session.callerAudio('STILL');
    expect(h.toOpenAI.at(-1)).toEqual({ op: 'audio', payload: 'STILL' });
  });

  it('no timer outlives the call', () => {
    const h = harness({ recovery: { retryDelayMs: 10_000 } });
    h.provider().providerError({ code: 'server_error', type: 'server_error', message: 'x' });
    expect(vi.getTimerCount()).toBe(1);
    h.session.end('caller-hangup');
    expect(vi.getTimerCount()).toBe(0);
    const g = harness();
    g.provider().interrupted(1006);
    expect(vi.getTimerCount()).toBe(1);
    g.session.end('caller-hangup');
    expect(vi.getTimerCount()).toBe(0);
  });
});

/** A SIP call: the provider carries the audio; the session holds only the sideband. */
function sipHarness() {
  const toOpenAI: RealtimeCall[] = [];
  const events: SessionEvent[] = [];
  const hangUps: string[] = [];
  const ended: string[] = [];
  let now = 1_000;
  let handlers: RealtimeHandlers | undefined;
  const session = new CallSession({
    callId: 'call-sip',
    media: { kind: 'provider', hangUp: (reason) => hangUps.push(reason) },
    openRealtime: (h) => {
      handlers = h;
      return {
        sendAudio: () => false,
        truncate: (itemId, audioEndMs) => toOpenAI.push({ op: 'truncate', itemId, audioEndMs }),
        createResponse: (instructions) =>
          toOpenAI.push(instructions ? { op: 'respond', instructions } : { op: 'respond' }),
        restore: (history) => toOpenAI.push({ op: 'restore', history: [...history] }),
        inject: (text, role) => toOpenAI.push({ op: 'inject', text, role }),
        sendToolOutput: (callId, output) => toOpenAI.push({ op: 'tool-output', callId, output }),
        close: () => toOpenAI.push({ op: 'close' }),
      };
    },
    emit: (e) => events.push(e),
    now: () => now,
    onEnded: (reason) => ended.push(reason),
  });
  session.start();
  return {
    session,
    provider: () => handlers!,
    toOpenAI,
    events,
    hangUps,
    ended,
    advance: (ms: number) => (now += ms),
  };
}

describe('CallSession - SIP (the provider carries the audio)', () => {
  it('greets, publishes transcripts, and leaves audio and barge-in to the provider', () => {
    const h = sipHarness();
    h.session.opened();
    expect(h.toOpenAI).toEqual([{ op: 'respond' }]);
    h.session.responseCreated();
    h.advance(300);
    h.session.audioDelta('item_1', frame(800), 1_300);
    h.session.speechStarted();
    // No truncate: OpenAI knows what it played over SIP.
    expect(h.toOpenAI).toEqual([{ op: 'respond' }]);
    h.session.callerTranscript('item_c', 'Hi.');
    h.session.agentTranscript('item_1', 'Hello there.');
    h.session.end('agent-hangup');
    expect(h.hangUps).toEqual(['agent-hangup']);
    expect(types(h.events)).toEqual(['answered', 'transcript', 'transcript', 'ended']);
    expect(h.events.at(-1)?.data).toMatchObject({
      reason: 'agent-hangup',
      metrics: { firstAudioMs: 300, bargeIns: 1, framesOut: 0 },
    });
  });

  it('the caller hanging up ends the call without a hangup of ours', () => {
    const h = sipHarness();
    h.session.opened();
    h.provider().hungUp();
    expect(h.ended).toEqual(['caller-hangup']);
    expect(h.hangUps).toEqual([]);
    expect(h.toOpenAI.at(-1)).toEqual({ op: 'close' });
  });

  it('a dropped sideband is reconnected without asking for an answer the provider gives anyway', () => {
    const h = sipHarness();
    h.session.opened();
    h.session.callerCommitted('item_c');
    h.session.callerTranscript('item_c', 'Are you there?');
    h.provider().interrupted(1006);
    h.provider().restored();
    expect(h.toOpenAI.filter((c) => c.op === 'respond')).toHaveLength(1); // the greeting only
    expect(h.session.inject('note', 'system')).toBe(true);
    h.session.end('completed');
    expect(h.events.at(-1)?.data).toMatchObject({ metrics: { recoveries: 1 } });
  });

  it('a sideband lost for good hangs the SIP call up: provider-error', () => {
    const h = sipHarness();
    h.session.opened();
    h.provider().lost(1011, 'gone');
    expect(h.hangUps).toEqual(['provider-error']);
    expect(h.ended).toEqual(['provider-error']);
  });
});

describe('CallSession - tool calls', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A tool runner whose answers the test gives by hand. */
  function manualRunner() {
    const calls: Array<{ invocationId: string; name: string; args: unknown }> = [];
    const answers = new Map<string, (r: ToolResult) => void>();
    const runTool: RunTool = (req) => {
      calls.push(req);
      return new Promise((resolve) => answers.set(req.invocationId, resolve));
    };
    return {
      calls,
      runTool,
      answer: async (invocationId: string, result: ToolResult) => {
        answers.get(invocationId)?.(result);
        await vi.advanceTimersByTimeAsync(0);
      },
    };
  }
  const fnCall = (callId: string, name: string, args: string) => ({
    itemId: `item_${callId}`,
    callId,
    name,
    arguments: args,
  });
  const since = (h: ReturnType<typeof harness>, n: number) => h.toOpenAI.slice(n);

  it('runs the call, sends its output under the same call id, then asks for the answer', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.session.responseCreated();
    h.provider().functionCall(fnCall('call_1', 'get_time', '{"zone":"Europe/Paris"}'));
    expect(r.calls).toEqual([
      { invocationId: 'call_1', name: 'get_time', args: { zone: 'Europe/Paris' } },
    ]);
    h.session.responseDone('completed');
    const mark = h.toOpenAI.length;
    h.advance(420);
    await r.answer('call_1', { ok: true, output: { time: '10:00' } });
    expect(since(h, mark)).toEqual([
      { op: 'tool-output', callId: 'call_1', output: '{"time":"10:00"}' },
      { op: 'respond' },
    ]);
    expect(h.events.find((e) => e.event === 'tool-called')?.data).toEqual({
      invocationId: 'call_1',
      name: 'get_time',
      args: { zone: 'Europe/Paris' },
      result: { time: '10:00' },
      latencyMs: 420,
    });
  });

  it('waits for the active response to finish before asking for the next one', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.session.responseCreated();
    h.provider().functionCall(fnCall('call_1', 'lookup', '{}'));
    const mark = h.toOpenAI.length;
    await r.answer('call_1', { ok: true, output: 'found' });
    // The calling response is still generating: the output goes in, the answer waits.
    expect(since(h, mark)).toEqual([{ op: 'tool-output', callId: 'call_1', output: '"found"' }]);
    h.session.responseDone('completed');
    expect(since(h, mark).at(-1)).toEqual({ op: 'respond' });
  });

  it('answers once every call of a batch is in', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.provider().functionCall(fnCall('call_a', 'a', '{}'));
    h.provider().functionCall(fnCall('call_b', 'b', '{}'));
    const mark = h.toOpenAI.length;
    await r.answer('call_b', { ok: true, output: 2 });
    expect(since(h, mark).map((c) => c.op)).toEqual(['tool-output']);
    await r.answer('call_a', { ok: true, output: 1 });
    expect(since(h, mark).map((c) => c.op)).toEqual(['tool-output', 'tool-output', 'respond']);
  });

  it('a slow tool gets one filler line with no tools; the answer follows the filler', async () => {
    const r = manualRunner();
    const h = harness({
      runTool: r.runTool,
      toolPolicy: { fillerAfterMs: 1_500, fillerInstructions: "Say 'One moment.'" },
    });
    h.provider().functionCall(fnCall('call_1', 'slow', '{}'));
    const mark = h.toOpenAI.length;
    await vi.advanceTimersByTimeAsync(1_499);
    expect(since(h, mark)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(since(h, mark)).toEqual([
      { op: 'respond', instructions: "Say 'One moment.'", noTools: true },
    ]);
    h.session.responseCreated();
    await vi.advanceTimersByTimeAsync(10_000);
    await r.answer('call_1', { ok: true, output: 'done' });
    // The filler is still playing: the answer waits for it.
    expect(since(h, mark).map((c) => c.op)).toEqual(['respond', 'tool-output']);
    h.session.responseDone('completed');
    expect(since(h, mark).at(-1)).toEqual({ op: 'respond' });
  });

  it('the filler waits while the model is still speaking, and is not said when the tool is quick', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool, toolPolicy: { fillerAfterMs: 1_000 } });
    h.session.responseCreated();
    h.provider().functionCall(fnCall('call_1', 'slow', '{}'));
    const mark = h.toOpenAI.length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(since(h, mark)).toEqual([]);
    h.session.responseDone('completed');
    expect(since(h, mark)).toMatchObject([{ op: 'respond', noTools: true }]);

    const quick = harness({ runTool: r.runTool, toolPolicy: { fillerAfterMs: 1_000 } });
    quick.provider().functionCall(fnCall('call_2', 'fast', '{}'));
    await r.answer('call_2', { ok: true, output: null });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(quick.toOpenAI.filter((c) => c.op === 'respond' && c.noTools)).toEqual([]);
  });

  it('a failure reaches the model as a structured error and is recorded; the call goes on', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.provider().functionCall(fnCall('call_1', 'book', '{"day":"monday"}'));
    await r.answer('call_1', {
      ok: false,
      error: { code: 'TOOL_TIMEOUT', message: 'no answer within 5000 ms', retryable: true },
    });
    expect(h.toOpenAI).toContainEqual({
      op: 'tool-output',
      callId: 'call_1',
      output: '{"error":{"code":"TOOL_TIMEOUT","message":"no answer within 5000 ms"}}',
    });
    expect(h.toOpenAI.at(-1)).toEqual({ op: 'respond' });
    expect(h.events.find((e) => e.event === 'tool-called')?.data).toMatchObject({
      error: { code: 'TOOL_TIMEOUT', message: 'no answer within 5000 ms' },
    });
    expect(h.ended).toEqual([]);
  });

  it('arguments that are not JSON never reach the runner', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.provider().functionCall(fnCall('call_1', 'book', '{"day":'));
    await vi.advanceTimersByTimeAsync(0);
    expect(r.calls).toEqual([]);
    expect(h.toOpenAI).toContainEqual({
      op: 'tool-output',
      callId: 'call_1',
      output: '{"error":{"code":"INVALID_ARGUMENTS","message":"the arguments are not valid JSON"}}',
    });
    expect(h.events.find((e) => e.event === 'tool-called')?.data).toMatchObject({
      args: '{"day":',
      error: { code: 'INVALID_ARGUMENTS' },
    });
  });

  it('without a tool runner every call fails as unavailable', async () => {
    const h = harness();
    h.provider().functionCall(fnCall('call_1', 'x', '{}'));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.toOpenAI).toContainEqual(
      expect.objectContaining({
        op: 'tool-output',
        output: expect.stringContaining('TOOLS_UNAVAILABLE'),
      }),
    );
  });

  it('repeated failures ask for a human once (rule), and the model is told the outcome', async () => {
    const r = manualRunner();
    const asks: HandoffAsk[] = [];
    const h = harness({
      runTool: r.runTool,
      toolPolicy: { failuresBeforeHandoff: 2 },
      handOff: (ask) => {
        asks.push(ask);
        return Promise.resolve({ status: 'rejected', reason: 'no-human-available' });
      },
    });
    const fail: ToolResult = {
      ok: false,
      error: { code: 'HANDLER_ERROR', message: 'boom', retryable: false },
    };
    for (const id of ['c1', 'c2', 'c3']) {
      h.provider().functionCall(fnCall(id, 'book', '{}'));
      await r.answer(id, fail);
    }
    expect(asks).toEqual([{ trigger: 'rule', reason: '2 tool calls failed' }]);
    const notes = h.toOpenAI.filter((c) => c.op === 'inject');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ role: 'system' });
    expect((notes[0] as { text: string }).text).toContain(
      'No person is available (no-human-available)',
    );
    expect((notes[0] as { text: string }).text).toContain('callback');
  });

  it('end_call: the goodbye is asked for, and the call hangs up once its audio played', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.provider().functionCall(fnCall('call_1', 'end_call', '{"reason":"done"}'));
    await r.answer('call_1', { ok: true, output: { ending: true } });
    expect(h.toOpenAI.at(-1)).toEqual({ op: 'respond' });
    h.session.responseCreated();
    h.session.audioDelta('item_bye', frame(160), 0);
    h.session.responseDone('completed');
    // Twilio has not played it yet (its mark is not echoed).
    await vi.advanceTimersByTimeAsync(500);
    expect(h.ended).toEqual([]);
    h.session.markEchoed('m1');
    await vi.advanceTimersByTimeAsync(100);
    expect(h.ended).toEqual(['agent-hangup']);
    expect(h.events.at(-1)).toMatchObject({ event: 'ended', data: { reason: 'agent-hangup' } });
  });

  it('end_call said with its goodbye: no second response, the call hangs up once it played', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.session.responseCreated();
    h.provider().functionCall(fnCall('call_1', 'end_call', '{}'));
    h.session.audioDelta('item_bye', frame(160), 0);
    await r.answer('call_1', { ok: true, output: { ending: true } });
    const mark = h.toOpenAI.length;
    h.session.responseDone('completed');
    await vi.advanceTimersByTimeAsync(200);
    expect(since(h, mark)).toEqual([]);
    expect(h.ended).toEqual([]);
    h.session.markEchoed('m1');
    await vi.advanceTimersByTimeAsync(100);
    expect(h.ended).toEqual(['agent-hangup']);
  });

  it('end_call over SIP hangs up when the provider stopped playing, or at the latest after goodbyeMaxMs', async () => {
    for (const stops of [true, false]) {
      const r = manualRunner();
      const ended: string[] = [];
      let handlers: RealtimeHandlers | undefined;
      const session = new CallSession({
        callId: 'call-sip',
        media: { kind: 'provider', hangUp: () => undefined },
        openRealtime: (hs) => {
          handlers = hs;
          return {
            sendAudio: () => false,
            truncate: () => undefined,
            createResponse: () => undefined,
            sendToolOutput: () => undefined,
            restore: () => undefined,
            inject: () => undefined,
            close: () => undefined,
          };
        },
        emit: () => undefined,
        runTool: r.runTool,
        goodbyeMaxMs: 5_000,
        onEnded: (reason) => ended.push(reason),
      });
      session.start();
      session.opened();
      session.responseCreated();
      handlers!.functionCall(fnCall('call_1', 'end_call', '{}'));
      session.audioDelta('item_bye', frame(160), 0);
      await r.answer('call_1', { ok: true, output: {} });
      session.responseDone('completed');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(ended).toEqual([]);
      if (stops) handlers!.playbackStopped();
      else await vi.advanceTimersByTimeAsync(4_100);
      expect(ended).toEqual(['agent-hangup']);
    }
  });

  it('a failed end_call does not hang up', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.provider().functionCall(fnCall('call_1', 'end_call', '{}'));
    await r.answer('call_1', { ok: false, error: { code: 'X', message: 'no', retryable: false } });
    h.session.responseCreated();
    h.session.responseDone('completed');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.ended).toEqual([]);
  });

  it('the conversation replayed after a reconnect carries the calls and their outputs', async () => {
    const r = manualRunner();
    const h = harness({ runTool: r.runTool });
    h.session.callerCommitted('item_c');
    h.session.callerTranscript('item_c', 'What time is it?');
    h.provider().functionCall(fnCall('call_1', 'get_time', '{}'));
    await r.answer('call_1', { ok: true, output: '10:00' });
    h.provider().functionCall(fnCall('call_2', 'get_time', '{}'));
    h.provider().interrupted(1006);
    h.provider().restored();
    expect(h.toOpenAI.find((c) => c.op === 'restore')).toEqual({
      op: 'restore',
      history: [
        { role: 'caller', text: 'What time is it?' },
        { role: 'tool', callId: 'call_1', name: 'get_time', arguments: '{}', output: '"10:00"' },
        { role: 'tool', callId: 'call_2', name: 'get_time', arguments: '{}' },
      ],
    });
    // The output of the call still running goes to the new session, which then answers.
    const mark = h.toOpenAI.length;
    await r.answer('call_2', { ok: true, output: '10:01' });
    expect(since(h, mark)).toEqual([
      { op: 'tool-output', callId: 'call_2', output: '"10:01"' },
      { op: 'respond' },
    ]);
  });
});

describe('CallSession - key presses', () => {
  it('0 asks for a human (dtmf); the model is told a person takes over', async () => {
    const asks: HandoffAsk[] = [];
    const h = harness({
      handOff: (ask) => {
        asks.push(ask);
        return Promise.resolve({ status: 'accepted', handoffId: 'h1' });
      },
    });
    h.session.dtmf('5');
    h.session.dtmf('0');
    h.session.dtmf('0');
    expect(asks).toEqual([{ trigger: 'dtmf', reason: 'caller pressed 0' }]);
    await Promise.resolve();
    await Promise.resolve();
    const note = h.toOpenAI.find((c) => c.op === 'inject') as { text: string } | undefined;
    expect(note?.text).toContain('transferring them');
  });

  it('a note for the model waits for the active response; a rejected ask may be repeated', async () => {
    let outcome: HandoffOutcome = { status: 'unavailable', message: 'no responders' };
    const asks: HandoffAsk[] = [];
    const h = harness({
      handOff: (ask) => {
        asks.push(ask);
        return Promise.resolve(outcome);
      },
    });
    h.session.responseCreated();
    h.session.dtmf('0');
    await Promise.resolve();
    await Promise.resolve();
    expect(h.toOpenAI.filter((c) => c.op === 'inject')).toEqual([]);
    expect(h.events.at(-1)).toMatchObject({
      event: 'error',
      data: { code: 'HANDOFF_UNAVAILABLE', source: 'handoff' },
    });
    h.session.responseDone('completed');
    expect(h.toOpenAI.filter((c) => c.op === 'inject')).toHaveLength(1);
    outcome = { status: 'accepted', handoffId: 'h2' };
    h.session.dtmf('0');
    expect(asks).toHaveLength(2);
  });

  it('after an accepted handoff, the stream stopping (Twilio moved the call) ends it transferred', async () => {
    const h = harness({
      handOff: () => Promise.resolve({ status: 'accepted', handoffId: 'h1' }),
    });
    h.session.dtmf('0');
    await Promise.resolve();
    await Promise.resolve();
    h.session.end('caller-hangup');
    expect(h.ended).toEqual(['transferred']);
  });

  it('transfer_to_human accepted: transferred, unless the transfer failed (a note from outside)', async () => {
    vi.useFakeTimers();
    try {
      for (const failedAfter of [false, true]) {
        const runTool: RunTool = () =>
          Promise.resolve({ ok: true, output: { status: 'transferring', handoffId: 'h1' } });
        const h = harness({ runTool });
        h.provider().functionCall({
          itemId: 'i1',
          callId: 'call_t',
          name: 'transfer_to_human',
          arguments: '{"reason":"r","summary":"s"}',
        });
        await vi.advanceTimersByTimeAsync(0);
        if (failedAfter) h.session.inject('The transfer to a person failed.', 'system');
        h.session.end('caller-hangup');
        expect(h.ended).toEqual([failedAfter ? 'caller-hangup' : 'transferred']);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('no handoff key configured: key presses do nothing', () => {
    const asks: HandoffAsk[] = [];
    const h = harness({
      handoffDigit: null,
      handOff: (ask) => {
        asks.push(ask);
        return Promise.resolve({ status: 'accepted', handoffId: 'h1' });
      },
    });
    h.session.dtmf('0');
    expect(asks).toEqual([]);
  });
});
