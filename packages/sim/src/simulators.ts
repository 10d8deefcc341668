/**
 * Both simulators started together, wired as the real services are: Twilio's SIP trunk leads
 * to OpenAI's SIP endpoint, and both share one ScenarioBook so the OpenAI side can find the
 * scenario of a call it only hears. Used by `pnpm sim`, `pnpm dev` and tests.
 */
import type { Logger } from '@app/platform';

import { startAutoAccepter, type AutoAccepter } from './auto-accept.js';
import type { Pacing } from './caller/runner.js';
import { buildControlApi, type ControlTarget } from './control-api.js';
import { SIM_DEFAULTS } from './defaults.js';
import { startOpenAISim, type OpenAISim } from './openai/index.js';
import { ScenarioBook } from './scenario-book.js';
import { startTwilioSim, type TwilioSimHandle } from './twilio/index.js';

export interface SimulatorsOptions {
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue all 0 */
  ports?: Partial<{ twilio: number; openai: number; openaiTls: number; control: number }>;
  /** @defaultValue 'realtime' */
  pacing?: Pacing;
  /**
   * Where OpenAI sends `realtime.call.incoming` (our gateway's /openai/webhook). Absent: a
   * built-in receiver accepts every call with a plain phone session.
   */
  webhookUrl?: string;
  /** Voice webhook of the Media Streams number. @defaultValue gateway at http://127.0.0.1:3000/twilio/voice */
  voiceUrl?: string;
  /** Status callback of the Media Streams number. @defaultValue none */
  statusCallbackUrl?: string;
  log?: Logger;
}

export interface Simulators {
  twilioUrl: string;
  openaiHttpUrl: string;
  openaiWsUrl: string;
  openaiWssUrl: string;
  /** Trust this PEM (`ca`) to reach the wss:// endpoint. */
  tlsCertPem: string;
  controlUrl: string;
  voiceUrl: string;
  webhookUrl: string;
  credentials: {
    twilio: { accountSid: string; authToken: string; apiKeySid: string; apiKeySecret: string };
    openai: { apiKey: string; webhookSecret: string };
  };
  twilio: TwilioSimHandle;
  openai: OpenAISim;
  scenarios: ScenarioBook;
  /** The calls API of the control server, for in-process use. */
  control: ControlTarget;
  close(): Promise<void>;
}

export async function startSimulators(opts: SimulatorsOptions = {}): Promise<Simulators> {
  const host = opts.host ?? SIM_DEFAULTS.host;
  const ports = { twilio: 0, openai: 0, openaiTls: 0, control: 0, ...opts.ports };
  const pacing = opts.pacing ?? 'realtime';
  const scenarios = new ScenarioBook();
  const { twilio: tw, openai: oa, numbers } = SIM_DEFAULTS;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
  };

  try {
    // The auto-accepter must know OpenAI's URL, and OpenAI its webhook URL: give OpenAI a
    // forwarding target first when no real webhook URL is set.
    let accepter: AutoAccepter | undefined;
    let acceptTarget = opts.webhookUrl ?? '';
    const openai = await startOpenAISim({
      host,
      port: ports.openai,
      tlsPort: ports.openaiTls,
      apiKeys: [oa.apiKey],
      webhook: {
        get url() {
          return acceptTarget;
        },
        secret: oa.webhookSecret,
      },
      scenarios,
      pacing,
      ...(opts.log ? { log: opts.log.child({ component: 'openai-sim' }) } : {}),
    });
    closers.push(() => openai.close());
    if (!opts.webhookUrl) {
      accepter = await startAutoAccepter({
        host,
        openaiHttpUrl: openai.httpUrl,
        openaiWsUrl: openai.wsUrl,
        apiKey: oa.apiKey,
        webhookSecret: oa.webhookSecret,
      });
      acceptTarget = accepter.url;
      closers.push(() => accepter!.close());
    }

    const voiceUrl = opts.voiceUrl ?? 'http://127.0.0.1:3000/twilio/voice';
    const twilio = await startTwilioSim({
      host,
      port: ports.twilio,
      accounts: [
        {
          sid: tw.accountSid,
          authToken: tw.authToken,
          apiKeys: [{ sid: tw.apiKeySid, secret: tw.apiKeySecret }],
        },
      ],
      numbers: [
        {
          number: numbers.mediaStreams,
          accountSid: tw.accountSid,
          voiceUrl,
          ...(opts.statusCallbackUrl ? { statusCallback: opts.statusCallbackUrl } : {}),
        },
        { number: numbers.sip, accountSid: tw.accountSid, sip: true },
      ],
      pacing,
      sipTrunk: openai.sipTrunk,
      scenarios,
      allowInsecureTls: true,
      ...(opts.log ? { log: opts.log.child({ component: 'twilio-sim' }) } : {}),
    });
    closers.push(() => twilio.close());

    const ended = new Map<string, { status: string; reason: string }>();
    const control: ControlTarget = {
      async placeCall(req) {
        const call = await twilio.ringInbound({
          to: req.to,
          from: req.from ?? numbers.caller,
          scenario: req.scenario,
          ...(req.sipHeaders ? { sipHeaders: req.sipHeaders } : {}),
        });
        void call.ended.then((e) => ended.set(call.callSid, e));
        return { callSid: call.callSid };
      },
      describeCall(callSid) {
        const call = twilio.getCall(callSid);
        if (!call) return undefined;
        const sipCall = openai.calls().find((c) => c.callSid === callSid);
        // A SIP call's caller records into the recording the trunk handed over: the same object.
        const callerEntries = [...(twilio.recordingOf(callSid)?.entries ?? [])];
        // The OpenAI sessions of this call: the SIP call's, or every one bound to the caller's
        // run id (a bridge that reconnected mid-call used several, one after the other).
        const runId = callerEntries.find((e) => e.kind === 'caller.tag' && e.data?.kind === 'run')
          ?.data?.value;
        const sipSession = sipCall?.sessionId ? openai.session(sipCall.sessionId) : undefined;
        const sessions = sipSession
          ? [sipSession]
          : openai.sessions().filter((s) => runId !== undefined && s.runId === runId);
        const first = sessions[0];
        // Each session counts `atMs` from its own start; line them up on the first one's.
        const conversation = sessions.flatMap((s) =>
          s.said.map((line) => ({
            ...line,
            atMs: line.atMs + s.createdAt - (first?.createdAt ?? 0),
          })),
        );
        const end = ended.get(callSid);
        return {
          callSid,
          status: call.status,
          ended: end !== undefined,
          ...(end ? { endReason: end.reason } : {}),
          recording: callerEntries,
          ...(first ? { conversation } : {}),
        };
      },
    };
    const controlApp = buildControlApi(control);
    const controlUrl = await controlApp.listen({ host, port: ports.control });
    closers.push(() => controlApp.close());

    return {
      twilioUrl: twilio.url,
      openaiHttpUrl: openai.httpUrl,
      openaiWsUrl: openai.wsUrl,
      openaiWssUrl: openai.wssUrl,
      tlsCertPem: openai.tlsCertPem,
      controlUrl,
      voiceUrl,
      webhookUrl: acceptTarget,
      credentials: { twilio: { ...tw }, openai: { ...oa } },
      twilio,
      openai,
      scenarios,
      control,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
