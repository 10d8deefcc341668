/**
 * One call from the moment it exists until it ends: its status, status callbacks, the TwiML
 * it runs (and interruptions by call updates, §5.3), its media stream and simulated caller.
 */
import type { Logger } from '@app/platform';

import { silenceFrame } from '../audio/index.js';
import { startCaller, type CallerHandle, type Pacing } from '../caller/runner.js';
import type { CallRecording } from '../recording.js';
import type { ScenarioBook } from '../scenario-book.js';
import type { Scenario } from '../scenario.js';
import type { SipTrunkTarget } from '../sip.js';
import { durationSec, isTerminal, type CallRecord, type CallStatus } from './call-store.js';
import type { ConferenceStore } from './conference.js';
import { performDial } from './dial.js';
import { MediaStreamClient } from './media-stream-client.js';
import type { NumberRegistry } from './numbers.js';
import type { StatusCallbacks } from './status-callbacks.js';
import { parseTwiml, type TwimlNode } from './twiml-parse.js';
import { runTwiml, type TwimlContext } from './twiml-runner.js';
import { prepareWebhook, sendWebhook, type HttpMethod } from './webhook-client.js';

/** Simulated durations, in simulated ms (scaled by `timeScale` when waited). */
export interface SimTiming {
  ringMs: number;
  playMs: number;
  holdMs: number;
  bridgeMs: number;
  webhookTimeoutMs: number;
}

/** What every call shares: the simulator's registries and settings. */
export interface SessionDeps {
  numbers: NumberRegistry;
  scenarios: ScenarioBook;
  sipTrunk: SipTrunkTarget | undefined;
  sipTrunkHosts: readonly string[];
  pacing: Pacing;
  /** Wall ms per simulated ms: 1 realtime, 0.1 fast (the caller's 2 ms frames). */
  timeScale: number;
  timing: SimTiming;
  allowInsecureTls: boolean;
  log: Logger;
  /** The account's conference rooms (`<Dial><Conference>`, the Participants API). */
  conferences: ConferenceStore;
}

/** Where the next TwiML comes from. */
export type TwimlSource =
  | { kind: 'twiml'; twiml: string }
  | { kind: 'fetch'; url: string; method: HttpMethod; params?: Record<string, string> };

/** A TwiML fetch that failed: 11200 HTTP retrieval failure (Twilio's debugger code). */
class FetchError extends Error {
  readonly code = 11200;
}

/** Aborts the running document without being an error. */
class Interrupted extends Error {}

export class CallSession {
  readonly call: CallRecord;
  readonly recording: CallRecording;
  readonly callbacks: StatusCallbacks;
  readonly ended: Promise<{ status: string; reason: string }>;
  readonly #deps: SessionDeps;
  readonly #authToken: string;
  readonly scenario: Scenario | undefined;
  readonly #log: Logger;
  #runId: number | undefined;
  #caller: CallerHandle | undefined;
  #stream: MediaStreamClient | undefined;
  #ctrl = new AbortController();
  #pending: TwimlSource | undefined;
  #resolveEnded: (v: { status: string; reason: string }) => void = () => undefined;
  /** Extra params on every request about this call (e.g. `AnsweredBy` after AMD). */
  readonly extraParams: Record<string, string> = {};

  constructor(opts: {
    call: CallRecord;
    recording: CallRecording;
    callbacks: StatusCallbacks;
    authToken: string;
    scenario: Scenario | undefined;
    deps: SessionDeps;
  }) {
    this.call = opts.call;
    this.recording = opts.recording;
    this.callbacks = opts.callbacks;
    this.#authToken = opts.authToken;
    this.scenario = opts.scenario;
    this.#deps = opts.deps;
    this.#log = opts.deps.log.child({ callSid: opts.call.sid });
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  get terminal(): boolean {
    return isTerminal(this.call.status);
  }

  /** The standard parameters of every webhook about this call (§1.2). */
  params(): Record<string, string> {
    const c = this.call;
    return {
      AccountSid: c.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: c.sid,
      CallStatus: c.status,
      Called: c.to,
      Caller: c.from,
      Direction: c.direction,
      From: c.from,
      To: c.to,
      ...this.extraParams,
    };
  }

  setStatus(status: CallStatus): void {
    this.call.status = status;
    this.call.dateUpdated = new Date();
    this.recording.add('call.status', { status });
  }

  /** Waits simulated ms; rejects when the running document is interrupted. */
  sleep(ms: number, signal: AbortSignal = this.#ctrl.signal): Promise<void> {
    const wallMs = ms * this.#deps.timeScale;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, wallMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The signal of whatever runs now (ringing, or the current TwiML document). */
  get signal(): AbortSignal {
    return this.#ctrl.signal;
  }

  /** Call update with new TwiML or Url: interrupts the current document (§5.3). */
  redirect(source: TwimlSource): void {
    this.#pending = source;
    this.recording.add('call.updated', { kind: source.kind });
    this.#ctrl.abort(new Interrupted('call-updated'));
  }

  /** Ends the call now (Status=completed/canceled, caller hang-up, ring outcome). */
  finish(status: CallStatus, reason: string, extra: Record<string, string> = {}): void {
    if (this.terminal) return;
    this.#ctrl.abort(new Interrupted(reason));
    this.#stream?.stop(reason);
    this.#caller?.ended(reason);
    const now = new Date();
    this.call.endTime = now;
    this.call.endReason = reason;
    this.setStatus(status);
    this.recording.add('call.ended', { status, reason, durationSec: durationSec(this.call) });
    this.callbacks.emit('completed', {
      ...this.params(),
      CallDuration: String(durationSec(this.call)),
      Duration: String(Math.ceil(durationSec(this.call) / 60)),
      ...extra,
    });
    if (this.#runId !== undefined) this.#deps.scenarios.release(this.#runId);
    this.#log.info({ status, reason }, 'call ended');
    this.#resolveEnded({ status, reason });
  }

  /** Runs TwiML documents until the call ends. Never rejects. */
  async execute(first: TwimlSource, onFirstDocument?: (doc: TwimlNode) => boolean): Promise<void> {
    let source: TwimlSource = first;
    let firstDoc = true;
    while (!this.terminal) {
      const ctrl = new AbortController();
      this.#ctrl = ctrl;
      try {
        const { xml, baseUrl } = await this.#load(source, ctrl.signal);
        const doc = parseTwiml(xml);
        if (firstDoc && onFirstDocument && !onFirstDocument(doc)) return;
        firstDoc = false;
        const outcome = await runTwiml(doc, this.#context(ctrl.signal, baseUrl));
        if (outcome.kind === 'end') {
          this.finish(outcome.status, outcome.reason);
          return;
        }
        source = outcome;
      } catch (err) {
        if (this.terminal) return;
        const pending = this.#pending;
        if (ctrl.signal.aborted && pending !== undefined) {
          this.#pending = undefined;
          source = pending;
          continue;
        }
        const code = (err as { code?: unknown }).code;
        this.recording.add('twiml.error', {
          code: typeof code === 'number' ? code : null,
          message: err instanceof Error ? err.message : String(err),
        });
        // Twilio says "an application error has occurred" and hangs up.
        this.finish('completed', 'application-error');
        return;
      }
    }
  }

  async #load(
    source: TwimlSource,
    signal: AbortSignal,
  ): Promise<{ xml: string; baseUrl: string | undefined }> {
    if (source.kind === 'twiml') return { xml: source.twiml, baseUrl: undefined };
    const req = prepareWebhook(this.#authToken, source.method, source.url, {
      ...this.params(),
      ...source.params,
    });
    let res;
    try {
      res = await sendWebhook(req, { timeoutMs: this.#deps.timing.webhookTimeoutMs, signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new FetchError(`fetching TwiML failed: ${String(err)}`);
    }
    this.recording.add('webhook.voice', {
      url: req.url,
      method: req.method,
      httpStatus: res.status,
    });
    if (res.status < 200 || res.status >= 300) {
      throw new FetchError(`TwiML URL answered HTTP ${res.status}`);
    }
    return { xml: res.body, baseUrl: req.url };
  }

  #context(signal: AbortSignal, baseUrl: string | undefined): TwimlContext {
    const { timing } = this.#deps;
    return {
      recording: this.recording,
      signal,
      sleep: (ms) => this.sleep(ms, signal),
      connectStream: (node) => this.#connectStream(node, signal),
      dial: (node) =>
        performDial(node, {
          callSid: this.call.sid,
          from: this.call.from,
          to: this.call.to,
          numbers: this.#deps.numbers,
          sipTrunk: this.#deps.sipTrunk,
          sipTrunkHosts: this.#deps.sipTrunkHosts,
          scenario: this.scenario,
          recording: this.recording,
          signal,
          sleep: (ms) => this.sleep(ms, signal),
          ringMs: timing.ringMs,
          bridgeMs: timing.bridgeMs,
          joinConference: (name, opts) =>
            this.#deps.conferences.join(
              this.call.accountSid,
              name,
              this.call.sid,
              opts,
              this.recording,
              signal,
            ),
        }),
      resolveUrl: (url) => {
        if (/^https?:\/\//i.test(url)) return url;
        if (baseUrl === undefined) throw new FetchError(`relative URL ${url} in inline TwiML`);
        return new URL(url, baseUrl).toString();
      },
      playMs: timing.playMs,
      holdMs: timing.holdMs,
    };
  }

  async #connectStream(node: TwimlNode, signal: AbortSignal): Promise<void> {
    const customParameters: Record<string, string> = {};
    for (const p of node.children) {
      if (p.name === 'Parameter' && p.attrs.name !== undefined) {
        customParameters[p.attrs.name] = p.attrs.value ?? '';
      }
    }
    const stream = new MediaStreamClient({
      url: node.attrs.url ?? '',
      accountSid: this.call.accountSid,
      callSid: this.call.sid,
      authToken: this.#authToken,
      customParameters,
      recording: this.recording,
      frameIntervalMs: 20 * this.#deps.timeScale,
      allowInsecureTls: this.#deps.allowInsecureTls,
      onCallerHangup: () => this.finish('completed', 'caller-hangup'),
      log: this.#log,
    });
    this.#stream = stream;
    try {
      await stream.open();
    } catch {
      return; // 31920 recorded; Twilio goes on with the next verb.
    }
    const onAbort = () => stream.stop(String((signal.reason as Error | undefined)?.message));
    signal.addEventListener('abort', onAbort, { once: true });
    let pump: NodeJS.Timeout | undefined;
    if (this.scenario !== undefined && this.#caller === undefined) {
      this.#runId = this.#deps.scenarios.register(this.scenario);
      this.#caller = startCaller({
        scenario: this.scenario,
        runId: this.#runId,
        transport: stream,
        recording: this.recording,
        pacing: this.#deps.pacing,
      });
      stream.attach(this.#caller);
    } else {
      // No simulated caller: the line still carries silence, as a phone does.
      pump = setInterval(() => stream.sendAudio(silenceFrame()), 20 * this.#deps.timeScale);
    }
    const end = await stream.ended;
    clearInterval(pump);
    signal.removeEventListener('abort', onAbort);
    if (end.by === 'server') this.#caller?.ended('stream-closed');
    signal.throwIfAborted();
  }
}
