import { randomBytes } from 'node:crypto';

import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

import { CallOwners } from '../src/bus/call-owners.js';
import { publishHumanAgentNotify } from '../src/bus/publish.js';
import { request, serveEndpoint } from '../src/bus/request-reply.js';
import { subscribeMessages } from '../src/bus/subscribe.js';
import {
  callControlReply,
  callControlRequest,
  type CallControlRequest,
} from '../src/messages/call-control.js';
import { callOwner } from '../src/messages/call-owner.js';
import {
  handoffTransferRequest,
  humanAgentNotify,
  type HumanAgentNotify,
} from '../src/messages/handoff.js';
import { sipOfferRequest } from '../src/messages/sip-offer.js';
import { toolExecuteRequest } from '../src/messages/tool-execute.js';
import { type Names } from '../src/subjects.js';
import { connectNats, RecordingLogger, uniqueNames, waitFor } from './support/nats.js';
import { activeTraceId, installTracing, withSpan } from './support/otel.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const offer = {
  openaiCallId: 'rtc_1',
  from: '+14155550100',
  to: '+14155550101',
  sipHeaders: {},
  agentId: 'agent-1',
};

describe(
  'bus - core NATS request/reply, pub/sub and KV against nats-server',
  { timeout: 15_000 },
  () => {
    let nc: NatsConnection;
    let names: Names;
    let uninstallTracing: () => void;

    beforeAll(async () => {
      uninstallTracing = installTracing();
      names = uniqueNames();
      nc = await connectNats('bus-core');
    });

    afterAll(async () => {
      await nc?.close();
      uninstallTracing?.();
    });

    it('answers a valid call-control request through the owning pod', async () => {
      const callId = `CA${hex(8)}`;
      const logger = new RecordingLogger();
      const received: CallControlRequest[] = [];
      const traces: Array<string | undefined> = [];
      const sub = serveEndpoint({
        nc,
        names,
        endpoint: 'call-control',
        callId,
        logger,
        handler: (req) => {
          received.push(req);
          traces.push(activeTraceId());
          return { ok: true };
        },
      });
      onTestFinished(() => sub.unsubscribe());
      const traceId = hex(16);
      const req = callControlRequest(callId, { action: 'hangup', reason: 'operator' });

      const reply = await withSpan(traceId, hex(8), () =>
        request(nc, names, 'call-control', req, { timeoutMs: 2_000 }),
      );

      expect(reply).toMatchObject({ v: 1, type: 'call-control.reply', callId, data: { ok: true } });
      expect(received).toEqual([req]);
      expect(traces).toEqual([traceId]);
      expect(logger.records).toEqual([]);
    });

    it('rejects an invalid request with INVALID_REQUEST and a log line, and keeps serving', async () => {
      const callId = `CA${hex(8)}`;
      const logger = new RecordingLogger();
      const sub = serveEndpoint({
        nc,
        names,
        endpoint: 'call-control',
        callId,
        logger,
        handler: () => ({ ok: true }),
      });
      onTestFinished(() => sub.unsubscribe());
      const subject = names.subjects.callControl(callId);
      const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as unknown;

      const notJson = await nc.request(subject, 'hang up please', { timeout: 2_000 });
      const badAction = await nc.request(
        subject,
        JSON.stringify({
          ...callControlRequest(callId, { action: 'hangup' }),
          data: { action: 'explode' },
        }),
        { timeout: 2_000 },
      );
      const good = await request(
        nc,
        names,
        'call-control',
        callControlRequest(callId, { action: 'hangup' }),
      );

      expect(decode(notJson.data)).toMatchObject({
        type: 'call-control.reply',
        data: {
          ok: false,
          error: { code: 'INVALID_REQUEST', message: 'payload is not valid JSON' },
        },
      });
      expect(decode(badAction.data)).toMatchObject({
        data: {
          ok: false,
          error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^data\.action: /) },
        },
      });
      expect(good.data).toEqual({ ok: true });
      expect(logger.at('warn').map((r) => [r.msg, r.fields.subject])).toEqual([
        ['invalid request rejected', subject],
        ['invalid request rejected', subject],
      ]);
    });

    it('answers INTERNAL when the handler throws or returns an invalid reply', async () => {
      const callId = `CA${hex(8)}`;
      const logger = new RecordingLogger();
      let calls = 0;
      const sub = serveEndpoint({
        nc,
        names,
        endpoint: 'tool-execute',
        logger,
        handler: () => {
          calls += 1;
          if (calls === 1) throw new Error('tool crashed');
          return { ok: true } as never; // missing `output`: fails the reply schema
        },
      });
      onTestFinished(() => sub.unsubscribe());
      const req = toolExecuteRequest(callId, {
        invocationId: 'call_1',
        name: 'lookup',
        args: {},
        agentId: 'agent-1',
      });

      for (let i = 0; i < 2; i += 1) {
        const reply = await request(nc, names, 'tool-execute', req);
        expect(reply.data).toEqual({
          ok: false,
          error: { code: 'INTERNAL', message: 'internal error', retryable: true },
        });
      }
      const errors = logger.at('error');
      expect(errors.map((r) => [r.msg, r.fields.callId])).toEqual([
        ['request handler failed', callId],
        ['request handler failed', callId],
      ]);
      expect((errors[1]?.fields.err as Error).message).toMatch(
        /^invalid tool-execute\.reply message: data\.output/,
      );
    });

    it('validates both ways on the requesting side', async () => {
      const callId = `CA${hex(8)}`;
      const bad = {
        ...callControlRequest(callId, { action: 'hangup' }),
        v: 2,
      } as unknown as CallControlRequest;
      await expect(request(nc, names, 'call-control', bad)).rejects.toThrow(
        /^invalid call-control request: v: /,
      );

      // A responder that is not ours answers garbage: the requester refuses it.
      const sub = nc.subscribe(names.subjects.callControl(callId), {
        callback: (_err, msg) =>
          void msg.respond(JSON.stringify(callControlReply({ ok: true }).data)),
      });
      onTestFinished(() => sub.unsubscribe());
      await expect(
        request(nc, names, 'call-control', callControlRequest(callId, { action: 'hangup' })),
      ).rejects.toThrow(/^invalid call-control reply: /);
    });

    it('serves sip-offer in one queue group: one bridge claims each offer', async () => {
      const logger = new RecordingLogger();
      const claimedBy: string[] = [];
      for (const pod of ['bridge-a', 'bridge-b']) {
        const sub = serveEndpoint({
          nc,
          names,
          endpoint: 'sip-offer',
          logger,
          handler: () => {
            claimedBy.push(pod);
            return { status: 'accepted', pod };
          },
        });
        onTestFinished(() => sub.unsubscribe());
      }

      const reply = await request(nc, names, 'sip-offer', sipOfferRequest(`CA${hex(8)}`, offer));

      expect(reply.data).toEqual({ status: 'accepted', pod: claimedBy[0] });
      await nc.flush();
      expect(claimedBy).toHaveLength(1);
    });

    it('round-trips a handoff transfer and rejects an invalid one with a reason', async () => {
      const logger = new RecordingLogger();
      const sub = serveEndpoint({
        nc,
        names,
        endpoint: 'handoff-transfer',
        logger,
        handler: (req) => ({ status: 'accepted', handoffId: `ho-${req.callId}` }),
      });
      onTestFinished(() => sub.unsubscribe());
      const callId = `CA${hex(8)}`;

      const reply = await request(
        nc,
        names,
        'handoff-transfer',
        handoffTransferRequest(callId, { reason: 'asked for a human', mode: 'warm' }),
      );
      const invalid = await nc.request(names.subjects.handoffTransfer, '{}', { timeout: 2_000 });

      expect(reply).toMatchObject({
        callId,
        data: { status: 'accepted', handoffId: `ho-${callId}` },
      });
      expect(JSON.parse(new TextDecoder().decode(invalid.data))).toMatchObject({
        type: 'handoff-transfer.reply',
        data: { status: 'rejected', reason: 'invalid-request' },
      });
    });

    it('delivers valid notifications to a human agent and drops invalid ones with a log line', async () => {
      const agentId = `agent-${hex(4)}`;
      const logger = new RecordingLogger();
      const got: HumanAgentNotify[] = [];
      const sub = subscribeMessages({
        nc,
        names,
        subject: names.subjects.humanAgentNotify(agentId),
        kinds: 'human-agent-notify',
        logger,
        handler: (message) => {
          got.push(message);
          if (got.length === 1) throw new Error('dashboard socket gone');
        },
      });
      onTestFinished(() => sub.unsubscribe());
      const subject = names.subjects.humanAgentNotify(agentId);
      const first = humanAgentNotify('CA1', { kind: 'handoff-offered', handoffId: 'ho-1' });
      const second = humanAgentNotify('CA1', { kind: 'handoff-canceled', handoffId: 'ho-1' });

      publishHumanAgentNotify(nc, names, agentId, first);
      nc.publish(subject, 'not json');
      nc.publish(subject, JSON.stringify({ ...second, data: { kind: 'party', handoffId: 'x' } }));
      publishHumanAgentNotify(nc, names, agentId, second);
      await nc.flush();

      await waitFor(() => got.length === 2, 'both valid notifications');
      expect(got).toEqual([first, second]);
      expect(logger.at('warn').map((r) => [r.msg, r.fields.subject, r.fields.reason])).toEqual([
        ['invalid message dropped', subject, 'payload is not valid JSON'],
        ['invalid message dropped', subject, expect.stringMatching(/^data\.kind: /)],
      ]);
      expect(logger.at('error').map((r) => r.msg)).toEqual(['message handler failed']);
      expect(() =>
        publishHumanAgentNotify(nc, names, agentId, { ...first, callId: undefined } as never),
      ).toThrow(/callId/);
    });

    describe('call owners KV', () => {
      let kv: KV;

      beforeAll(async () => {
        const spec = names.kv.callOwners;
        kv = await new Kvm(nc).create(spec.name, {
          ttl: spec.ttlMs,
          history: spec.history,
          storage: 'memory',
        });
      });

      afterAll(async () => {
        await kv?.destroy();
      });

      it('claims, reads, heartbeats, lists and releases a call owner', async () => {
        const logger = new RecordingLogger();
        const owners = await CallOwners.open(nc, names, logger);
        const callId = `CA${hex(8)}`;
        const mine = callOwner({ pod: 'bridge-a', transport: 'media-streams' });

        expect(await owners.get(callId)).toBeNull();
        expect(await owners.claim(callId, mine)).toBe(true);
        expect(await owners.claim(callId, callOwner({ pod: 'bridge-b', transport: 'sip' }))).toBe(
          false,
        );
        expect(await owners.get(callId)).toEqual(mine);
        const heartbeat = { ...mine, since: mine.since };
        expect(await owners.put(callId, heartbeat)).toBeGreaterThan(0);
        expect(await owners.list()).toContainEqual({ callId, owner: mine });
        await owners.release(callId);
        expect(await owners.get(callId)).toBeNull();
        expect(await owners.claim(callId, mine)).toBe(true);
        expect(logger.records).toEqual([]);
      });

      it('refuses to write an invalid owner and ignores an invalid stored one with a log line', async () => {
        const logger = new RecordingLogger();
        const owners = await CallOwners.open(nc, names, logger);
        const callId = `CA${hex(8)}`;

        await expect(owners.put(callId, { pod: 'p' } as never)).rejects.toThrow(
          /^invalid call owner: /,
        );
        await kv.put(callId, JSON.stringify({ v: 2, pod: 'p', since: 'now', transport: 'sip' }));
        expect(await owners.get(callId)).toBeNull();
        await kv.put(`${callId}x`, 'not json');
        expect(await owners.get(`${callId}x`)).toBeNull();
        expect(logger.at('warn').map((r) => [r.msg, r.fields.callId])).toEqual([
          ['invalid call owner ignored', callId],
          ['invalid call owner ignored', `${callId}x`],
        ]);
      });
    });
  },
);
