/**
 * Carries out an accepted handoff, after the reply went back (so the model can say "I am
 * transferring you" first):
 *
 * - Media Streams, cold: the call is updated to `<Dial>` the human; its stream, and so the AI,
 *   stops.
 * - Media Streams, warm: the human is dialled into a conference of their own, hearing a whisper
 *   of the AI's summary first; once they are in, the caller is moved into it (the AI drops).
 *   A human who does not answer fails the handoff; the caller is still with the AI, which is
 *   told to offer a callback or take a message.
 * - SIP: the owning bridge REFERs the call (`call-control` transfer). A REFER cannot brief by
 *   voice: a warm handoff of a SIP call is briefed on the dashboard (the offer carries the
 *   summary) and then transferred like a cold one.
 *
 * The row is `connected` before the call is moved: moving it ends the AI's leg at once, and the
 * call-ended consumer must then find a handoff that reached its human, not one still ringing.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from '@app/platform';

import type { BridgeControl } from '../adapters/bridge-control.js';
import type { HandoffEvents } from '../adapters/handoff-events.js';
import type { CallFacts, HandoffStore } from '../adapters/handoff-store.js';
import type { HumanAgentStore } from '../adapters/human-agent-store.js';
import type { Notifier } from '../adapters/notifier.js';
import type { TwilioVoice } from '../adapters/twilio-voice.js';
import {
  callerLegTwiml,
  coldTransferTwiml,
  conferenceName,
  humanLegTwiml,
  whisperText,
  type Transport,
} from '../domain/transfer-plan.js';
import type { HandoffMetrics } from '../metrics.js';

export interface RunnerSettings {
  /** Wait after the reply before moving the call, so the agent's last line is heard (ms). */
  transferDelayMs: number;
  /** How long the human's phone rings (Twilio `Timeout`), s. */
  ringTimeoutSec: number;
  /** Longest wait for the human to be in the conference (ringing + whisper), ms. */
  joinTimeoutMs: number;
  /** How often the human's leg is looked at while waiting, ms. */
  pollIntervalMs: number;
}

export interface RunnerDeps {
  handoffs: HandoffStore;
  humans: HumanAgentStore;
  events: HandoffEvents;
  notify: Notifier;
  bridge: BridgeControl;
  /** Null: no Twilio account; Media Streams handoffs are refused before they get here. */
  twilio: TwilioVoice | null;
  settings: RunnerSettings;
  metrics: HandoffMetrics;
  log: Logger;
}

export interface HandoffJob {
  handoffId: string;
  call: CallFacts & { transport: Transport };
  humanAgentId: string;
  target: string;
  mode: 'cold' | 'warm';
  reason: string;
  summary: string | undefined;
  /** When the handoff was accepted (epoch ms), for the connect time. */
  acceptedAtMs: number;
}

const ENDED_CALL = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

export class TransferRunner {
  readonly #deps: RunnerDeps;
  readonly #running = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /** Starts the job in the background; failures end as a `failed` handoff, never a throw. */
  start(job: HandoffJob): void {
    const run = this.#run(job).finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** Stops waiting loops and waits for the jobs under way to settle. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#running]);
  }

  async #run(job: HandoffJob): Promise<void> {
    const log = this.#deps.log.child({ callId: job.call.id, handoffId: job.handoffId });
    try {
      await this.#sleep(this.#deps.settings.transferDelayMs);
      if (job.call.transport === 'sip') await this.#sip(job);
      else if (job.mode === 'cold') await this.#mediaStreamsCold(job);
      else await this.#mediaStreamsWarm(job, log);
    } catch (err) {
      log.warn({ err }, 'handoff failed');
      await this.#fail(job, `error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async #sip(job: HandoffJob): Promise<void> {
    if (
      !(await this.#connected(
        job,
        job.mode === 'warm' ? 'warm over SIP: summary on the dashboard only' : undefined,
      ))
    )
      return;
    // The bridge refuses `warm` for SIP (a REFER cannot brief): the briefing was the offer.
    const result = await this.#deps.bridge.transfer(job.call.id, job.target, 'cold');
    if (!result.ok) {
      await this.#fail(job, `transfer-refused: ${result.error.code}: ${result.error.message}`);
    }
  }

  async #mediaStreamsCold(job: HandoffJob): Promise<void> {
    const twilio = this.#twilio();
    if (!(await this.#connected(job))) return;
    await twilio.redirect(
      this.#callSid(job),
      coldTransferTwiml(job.target, job.call.ourNumber, this.#deps.settings.ringTimeoutSec),
    );
  }

  async #mediaStreamsWarm(job: HandoffJob, log: Logger): Promise<void> {
    const twilio = this.#twilio();
    const { settings } = this.#deps;
    const room = conferenceName(job.handoffId);
    const humanCallSid = await twilio.dial(
      job.target,
      job.call.ourNumber,
      humanLegTwiml(whisperText(job.reason, job.summary), room),
      settings.ringTimeoutSec,
    );
    if (!(await this.#step(job, 'ringing'))) {
      await this.#hangUpHumanLeg(humanCallSid, log);
      return;
    }
    const deadline = Date.now() + settings.joinTimeoutMs;
    for (;;) {
      if ((await twilio.conferenceMembers(room)).includes(humanCallSid)) break;
      const status = await twilio.callStatus(humanCallSid);
      if (ENDED_CALL.has(status)) {
        await this.#fail(job, status === 'completed' ? 'human-hung-up' : `human-${status}`);
        return;
      }
      if (Date.now() > deadline || this.#stop.signal.aborted) {
        await this.#hangUpHumanLeg(humanCallSid, log);
        await this.#fail(job, 'human-did-not-join');
        return;
      }
      if (!(await this.#deps.handoffs.isOpen(job.handoffId))) {
        // The caller hung up meanwhile (the call-ended consumer closed the handoff).
        await this.#hangUpHumanLeg(humanCallSid, log);
        return;
      }
      await this.#sleep(settings.pollIntervalMs);
    }
    if (!(await this.#connected(job))) {
      await this.#hangUpHumanLeg(humanCallSid, log);
      return;
    }
    try {
      await twilio.redirect(this.#callSid(job), callerLegTwiml(room));
    } catch (err) {
      await this.#hangUpHumanLeg(humanCallSid, log);
      throw err;
    }
  }

  async #hangUpHumanLeg(callSid: string, log: Logger): Promise<void> {
    try {
      await this.#twilio().hangUp(callSid);
    } catch (err) {
      log.debug({ err }, 'human leg already gone');
    }
  }

  #twilio(): TwilioVoice {
    if (this.#deps.twilio === null) throw new Error('no Twilio account configured');
    return this.#deps.twilio;
  }

  #callSid(job: HandoffJob): string {
    if (!job.call.twilioCallSid) throw new Error('the call has no Twilio CallSid');
    return job.call.twilioCallSid;
  }

  /** One step: the row, then its event. False when the handoff had already ended. */
  async #step(job: HandoffJob, status: 'ringing' | 'connected', note?: string): Promise<boolean> {
    const moved = await this.#deps.handoffs.update(job.handoffId, { status });
    if (!moved) return false;
    await this.#deps.events.updated(job.call.id, {
      handoffId: job.handoffId,
      status,
      humanAgentId: job.humanAgentId,
      target: job.target,
      ...(note !== undefined ? { reason: note } : {}),
    });
    return true;
  }

  async #connected(job: HandoffJob, note?: string): Promise<boolean> {
    if (!(await this.#step(job, 'connected', note))) return false;
    const { metrics } = this.#deps;
    metrics.transfers.inc({ transport: job.call.transport, mode: job.mode, outcome: 'connected' });
    metrics.connectSeconds.observe({ mode: job.mode }, (Date.now() - job.acceptedAtMs) / 1000);
    await this.#deps.notify({
      humanAgentId: job.humanAgentId,
      callId: job.call.id,
      handoffId: job.handoffId,
      kind: 'handoff-accepted',
      summary: job.summary,
      target: job.target,
    });
    return true;
  }

  /** Records the failure, frees the human, tells them and the model. */
  async #fail(job: HandoffJob, reason: string): Promise<void> {
    const { handoffs, events, humans, notify, bridge } = this.#deps;
    const moved = await handoffs.update(job.handoffId, { status: 'failed', failureReason: reason });
    if (!moved) return;
    this.#deps.metrics.transfers.inc({
      transport: job.call.transport,
      mode: job.mode,
      outcome: 'failed',
    });
    await events.updated(job.call.id, {
      handoffId: job.handoffId,
      status: 'failed',
      humanAgentId: job.humanAgentId,
      target: job.target,
      reason,
    });
    await humans.release(job.humanAgentId);
    await notify({
      humanAgentId: job.humanAgentId,
      callId: job.call.id,
      handoffId: job.handoffId,
      kind: 'handoff-canceled',
      reason,
    });
    // The caller is still with the AI, which promised a person: let it say what happened.
    await bridge.inject(
      job.call.id,
      `The transfer to a person failed (${reason}). Tell the caller, and offer to schedule a callback or to take a message.`,
    );
  }

  /** Waits `ms`, or less when the runner stops; the abort listener goes with the timer. */
  async #sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }
}
