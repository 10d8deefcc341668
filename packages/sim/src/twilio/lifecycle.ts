/**
 * How calls progress before their TwiML runs: an outbound call rings the called party per the
 * behaviour table (twilio.md §5.2), an inbound call asks the number's voice URL (§1.2) or goes
 * straight to the SIP trunk (§6.1).
 */
import type { SipTrunkTarget } from '../sip.js';
import type { CallSession, TwimlSource } from './call-session.js';
import type { AnsweredBy } from './call-store.js';
import type { Behaviour, NumberConfig } from './numbers.js';
import { settleSipOffer } from './sip-outcome.js';
import { prepareWebhook, sendWebhook, type HttpMethod } from './webhook-client.js';

/** AMD settings of an outbound call (§1.5). */
export interface MachineDetection {
  mode: 'Enable' | 'DetectMessageEnd';
  async: boolean;
  asyncCallback: string | undefined;
  asyncCallbackMethod: HttpMethod;
}

export interface OutboundPlan {
  source: TwimlSource;
  behaviour: Behaviour;
  /** Ring timeout (`Timeout`, seconds → ms). */
  timeoutMs: number;
  /** Wall ms the call waits in the CPS queue before it is placed. */
  queueDelayMs: number;
  ringMs: number;
  amd: MachineDetection | undefined;
  webhookTimeoutMs: number;
  authToken: string;
}

function answeredBy(b: Behaviour, amd: MachineDetection): AnsweredBy {
  if (b.answer !== 'machine') return 'human';
  // Enable returns as soon as a machine is recognised; DetectMessageEnd waits for the beep.
  return amd.mode === 'Enable' ? 'machine_start' : 'machine_end_beep';
}

/** Rings the called party and, if answered, runs the call's TwiML. Never rejects. */
export async function runOutbound(session: CallSession, plan: OutboundPlan): Promise<void> {
  const { call, callbacks, recording } = session;
  try {
    // Calls above the account's CPS wait in `queued` (§5.5); this wait is wall-clock.
    // Even with no wait the REST response (status `queued`) goes out first.
    await new Promise((resolve) => setTimeout(resolve, plan.queueDelayMs));
    session.signal.throwIfAborted();
    callbacks.emit('initiated', { ...session.params(), CallStatus: 'initiated' });
    recording.add('call.initiated');
    session.setStatus('ringing');
    callbacks.emit('ringing', session.params());
    const b = plan.behaviour;
    const ringMs = Math.min(b.ringMs ?? plan.ringMs, plan.timeoutMs);
    switch (b.answer) {
      case 'busy':
        await session.sleep(ringMs);
        session.finish('busy', 'callee-busy', { SipResponseCode: '486' });
        return;
      case 'fail':
        await session.sleep(Math.min(ringMs, 200));
        session.finish('failed', 'callee-unreachable', { SipResponseCode: '404' });
        return;
      case 'no-answer':
        await session.sleep(plan.timeoutMs);
        session.finish('no-answer', 'ring-timeout', { SipResponseCode: '487' });
        return;
      default:
        await session.sleep(ringMs);
    }
    call.startTime = new Date();
    if (plan.amd !== undefined) {
      const result = answeredBy(b, plan.amd);
      call.answeredBy = result;
      recording.add('call.amd', { answeredBy: result, mode: plan.amd.mode, async: plan.amd.async });
      if (!plan.amd.async) session.extraParams.AnsweredBy = result;
      else void sendAsyncAmd(session, plan, result);
    }
    session.setStatus('in-progress');
    callbacks.emit('answered', session.params());
    await session.execute(plan.source);
  } catch {
    // Interrupted while queued or ringing: the API canceled it (finish already ran).
    if (!session.terminal) session.finish('canceled', 'canceled');
  }
}

/** Async AMD result (§1.5; exact parameter list UNCONFIRMED). */
async function sendAsyncAmd(session: CallSession, plan: OutboundPlan, result: AnsweredBy) {
  const amd = plan.amd;
  if (amd?.asyncCallback === undefined) return;
  const req = prepareWebhook(plan.authToken, amd.asyncCallbackMethod, amd.asyncCallback, {
    AccountSid: session.call.accountSid,
    AnsweredBy: result,
    CallSid: session.call.sid,
    MachineDetectionDuration: '2000',
  });
  try {
    const res = await sendWebhook(req, { timeoutMs: plan.webhookTimeoutMs });
    session.recording.add('webhook.amd', { answeredBy: result, httpStatus: res.status });
  } catch (err) {
    session.recording.add('webhook.amd', { answeredBy: result, error: String(err) });
  }
}

/** Runs an inbound call: the voice webhook, or the SIP trunk. Never rejects. */
export async function runInbound(
  session: CallSession,
  number: NumberConfig,
  sip: { target: SipTrunkTarget | undefined; headers: Record<string, string> },
): Promise<void> {
  const { call, recording } = session;
  if (number.sip) {
    await runSipTrunk(session, sip.target, sip.headers);
    return;
  }
  await session.execute(
    { kind: 'fetch', url: number.voiceUrl ?? '', method: number.voiceMethod ?? 'POST' },
    (doc) => {
      // The call is answered by the first document unless it rejects it (§1.3 `<Reject>`).
      if (doc.children[0]?.name !== 'Reject') {
        call.startTime = new Date();
        session.setStatus('in-progress');
      }
      recording.add('call.answered-by-twiml', { verbs: doc.children.map((c) => c.name) });
      return true;
    },
  );
}

async function runSipTrunk(
  session: CallSession,
  target: SipTrunkTarget | undefined,
  headers: Record<string, string>,
): Promise<void> {
  const { call, recording } = session;
  if (target === undefined) {
    recording.add('sip.error', { reason: 'no SIP trunk target configured' });
    session.finish('failed', 'no-sip-target');
    return;
  }
  try {
    const offer = await target.incomingCall({
      callSid: call.sid,
      from: call.from,
      to: call.to,
      headers,
      ...(session.scenario ? { scenario: session.scenario } : {}),
      recording,
    });
    const status = settleSipOffer(offer, recording);
    if (status !== null) {
      session.finish(status, `sip-${offer.outcome}`, {
        SipResponseCode: String(offer.sipStatus ?? 500),
      });
      return;
    }
    call.startTime = new Date();
    session.setStatus('in-progress');
    const end = await offer.ended;
    session.finish('completed', end.reason, { SipResponseCode: '200' });
  } catch (err) {
    recording.add('sip.error', { reason: err instanceof Error ? err.message : String(err) });
    session.finish('failed', 'sip-error');
  }
}
