/**
 * `call-bridge.sip-offer` (ARCHITECTURE.md "SIP"): the gateway offers an incoming SIP call to
 * every bridge in one queue group; the pod that gets it takes it if it can. Taking it means:
 * a free place in {@link LiveCalls}, the `call-owners` claim (so two pods never both accept),
 * the agent's settings, then `realtime.calls.accept` with the agent's session config. From
 * there the call runs through {@link launchCall} like a Media Streams call, with the sideband
 * socket as its provider leg; ending it is a REST hangup, a transfer is a SIP REFER.
 *
 * Replies: `accepted` with this pod, or `rejected` with a reason the gateway acts on:
 * `at-capacity` and `draining` (another pod may take it: the gateway offers again),
 * `already-owned` (another pod has it: nothing to do), `unknown-agent` and `accept-failed`
 * (no pod can do better).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

import {
  callOwner,
  serveEndpoint,
  type BusLogger,
  type CallControlResult,
  type CallOwners,
  type Names,
  type SipOfferResult,
} from '@app/contracts';

import type { LoadAgent } from '../adapters/agent-sessions.js';
import type { AgentSession } from '../adapters/openai-realtime.js';
import type { OpenSideband } from '../adapters/openai-sideband.js';
import { referUri, type SipCallActions } from '../adapters/openai-sip-calls.js';
import type { CallSession } from '../domain/call-session.js';
import type { LiveCalls } from '../domain/live-calls.js';
import { launchCall, type CallLog, type CallWiring } from '../launch-call.js';

export interface SipOfferDeps extends CallWiring {
  nc: NatsConnection;
  names: Names;
  /** POD_NAME, returned to the gateway and written as the call's owner. */
  pod: string;
  calls: LiveCalls;
  owners: CallOwners;
  loadAgent: LoadAgent;
  sipCalls: SipCallActions;
  openSideband: OpenSideband;
  log: BusLogger & { child(bindings: object): CallLog & BusLogger };
}

const rejected = (reason: string): SipOfferResult => ({ status: 'rejected', reason });

export function serveSipOffers(deps: SipOfferDeps): Subscription {
  return serveEndpoint({
    nc: deps.nc,
    names: deps.names,
    endpoint: 'sip-offer',
    logger: deps.log,
    handler: async (request) => {
      const callId = request.callId as string;
      const offer = request.data;
      const log = deps.log.child({ callId, openaiCallId: offer.openaiCallId });
      if (deps.calls.draining) return rejected('draining');
      let session: CallSession | null = null;
      const added = deps.calls.tryAdd({
        callId,
        end: () => {
          session?.end('completed');
          return Promise.resolve();
        },
      });
      if (!added) return rejected(deps.calls.canAccept ? 'already-owned' : 'at-capacity');
      deps.metrics?.liveCalls.inc();
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        deps.calls.remove(callId);
        deps.metrics?.liveCalls.dec();
      };
      const giveUp = async (reason: string, err?: unknown) => {
        release();
        await deps.owners.release(callId).catch(() => undefined);
        if (err !== undefined) log.warn({ err, reason }, 'sip offer not taken');
        return rejected(reason);
      };

      const owner = callOwner({ pod: deps.pod, transport: 'sip', since: new Date() });
      try {
        if (!(await deps.owners.claim(callId, owner))) {
          release();
          return rejected('already-owned');
        }
      } catch (err) {
        release();
        log.error({ err }, 'call owner not written: offer refused');
        return rejected('owner-claim-failed');
      }

      let agent: AgentSession | null;
      try {
        agent = await deps.loadAgent(offer.agentId, callId);
      } catch (err) {
        return giveUp('agent-lookup-failed', err);
      }
      if (!agent) return giveUp('unknown-agent');
      try {
        await deps.sipCalls.accept(offer.openaiCallId, agent);
      } catch (err) {
        // 404: the caller hung up while it rang; 400: accepted already (by this call's owner).
        return giveUp('accept-failed', err);
      }

      const { openaiCallId } = offer;
      const hangUpAtProvider = (reason: string) => {
        // After a REFER the provider ends our leg itself.
        if (reason === 'transferred') return;
        deps.sipCalls.hangup(openaiCallId).catch((err: unknown) => {
          log.warn({ err, reason }, 'sip hangup refused (the call may have ended already)');
        });
      };
      const transfer = async (
        target: string,
        mode: 'cold' | 'warm',
      ): Promise<CallControlResult> => {
        const uri = referUri(target);
        if (!uri) {
          return {
            ok: false,
            error: { code: 'INVALID_TARGET', message: `not an E.164 number or SIP URI: ${target}` },
          };
        }
        if (mode === 'warm') {
          return {
            ok: false,
            error: {
              code: 'NOT_SUPPORTED',
              message: 'warm transfers come with the handoff service',
            },
          };
        }
        try {
          await deps.sipCalls.refer(openaiCallId, uri);
        } catch (err) {
          log.warn({ err, target: uri }, 'sip refer refused');
          return { ok: false, error: { code: 'REFER_FAILED', message: String(err) } };
        }
        session?.end('transferred');
        return { ok: true };
      };
      session = launchCall(deps, {
        callId,
        transport: 'sip',
        direction: offer.direction,
        agentId: offer.agentId,
        agent,
        log,
        media: { kind: 'provider', hangUp: hangUpAtProvider },
        openRealtime: (handlers) => deps.openSideband(openaiCallId, handlers),
        // The voice model is the only voice of a SIP call: when it is lost, the call just ends.
        apologize: null,
        transfer,
        onEnded: release,
      });
      log.info({ agentId: offer.agentId }, 'sip call accepted');
      return { status: 'accepted', pod: deps.pod };
    },
  });
}
