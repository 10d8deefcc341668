/**
 * Twilio's REST API for calls and conferences under `/2010-04-01/Accounts/{AccountSid}/` (twilio.md §5):
 * form-encoded requests, JSON responses, HTTP Basic auth with the account SID + auth token or
 * an API key SID + secret, errors in the classic `{code, message, more_info, status}` body.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { callResource } from './call-store.js';
import { conferenceResource } from './conference.js';
import { TwilioApiError } from './errors.js';
import type { TwilioFaults } from './faults.js';
import type { NumberRegistry } from './numbers.js';
import type { RequestRateLimiter } from './rate-limit.js';
import type { FormParams, TwilioSim } from './twilio-sim.js';

const BASE = '/2010-04-01/Accounts/:accountSid';

interface AccountParams {
  accountSid: string;
}
interface CallParams extends AccountParams {
  callFile: string;
}

/** Returns the auth token of the account in the path, or throws 20003 / 20404. */
function authenticate(req: FastifyRequest, numbers: NumberRegistry, accountSid: string): string {
  const header = req.headers.authorization ?? '';
  const m = /^Basic\s+(.+)$/i.exec(header);
  const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? '' : decoded.slice(0, colon);
  const pass = colon === -1 ? '' : decoded.slice(colon + 1);
  const fail = () => new TwilioApiError('AUTHENTICATION_FAILED', 'Authenticate');
  if (user.startsWith('SK')) {
    // API key: valid only with the key's own account in the path (SDK `accountSid` option).
    const account = numbers.account(accountSid);
    const key = account?.apiKeys?.find((k) => k.sid === user);
    if (account === undefined || key === undefined) {
      throw key === undefined
        ? fail()
        : new TwilioApiError('NOT_FOUND', 'The requested resource was not found');
    }
    if (key.secret !== pass) throw fail();
    return account.authToken;
  }
  const own = numbers.account(user);
  if (own === undefined || own.authToken !== pass) throw fail();
  if (user !== accountSid) {
    throw new TwilioApiError(
      'NOT_FOUND',
      `The requested resource /2010-04-01/Accounts/${accountSid} was not found`,
    );
  }
  return own.authToken;
}

interface RouteDeps {
  sim: TwilioSim;
  numbers: NumberRegistry;
  limiter: RequestRateLimiter;
  faults: TwilioFaults;
}

/**
 * Authenticates, then lets the request through unless a fault or the account's request rate
 * turns it away with 429 / 20429 (twilio.md §5.4: never processed). Returns the auth token.
 */
function admit(req: FastifyRequest, deps: RouteDeps, accountSid: string): string {
  const token = authenticate(req, deps.numbers, accountSid);
  if (deps.faults.take('restRateLimits') || !deps.limiter.admit(accountSid)) {
    throw new TwilioApiError('TOO_MANY_REQUESTS', 'Too Many Requests');
  }
  return token;
}

function callSidOf(file: string, accountSid: string): string {
  if (!file.endsWith('.json')) {
    throw new TwilioApiError(
      'NOT_FOUND',
      `The requested resource /2010-04-01/Accounts/${accountSid}/Calls/${file} was not found`,
    );
  }
  return file.slice(0, -'.json'.length);
}

/** Fastify plugin with the Calls routes. */
export async function twilioRestRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { sim } = deps;
  await app.register(formbody);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply: FastifyReply) => {
    if (err instanceof TwilioApiError) {
      if (err.status === 401) reply.header('WWW-Authenticate', 'Basic realm="Twilio API"');
      return reply.code(err.status).send(err.toJSON());
    }
    const status =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'twilio sim route failed');
    return reply.code(status).send({
      code: status === 500 ? 20500 : 20001,
      message: err.message,
      more_info: `https://www.twilio.com/docs/errors/${status === 500 ? 20500 : 20001}`,
      status,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(
        new TwilioApiError('NOT_FOUND', `The requested resource ${req.url} was not found`).toJSON(),
      ),
  );

  app.post<{ Params: AccountParams; Body: FormParams }>(
    `${BASE}/Calls.json`,
    async (req, reply) => {
      const { accountSid } = req.params;
      const token = admit(req, deps, accountSid);
      const resource = sim.createCall(accountSid, token, req.body ?? {});
      return reply.code(201).send(resource);
    },
  );

  app.get<{ Params: AccountParams; Querystring: Record<string, string | undefined> }>(
    `${BASE}/Calls.json`,
    async (req) => {
      const { accountSid } = req.params;
      admit(req, deps, accountSid);
      const q = req.query;
      const pageSize = Math.min(1000, Math.max(1, Number.parseInt(q.PageSize ?? '50', 10) || 50));
      const page = Math.max(0, Number.parseInt(q.Page ?? '0', 10) || 0);
      const all = sim.store
        .list(accountSid)
        .filter(
          (c) =>
            (q.To === undefined || c.to === q.To) && (q.From === undefined || c.from === q.From),
        )
        .filter((c) => q.Status === undefined || c.status === q.Status);
      const start = page * pageSize;
      const slice = all.slice(start, start + pageSize);
      const uri = (p: number) =>
        `/2010-04-01/Accounts/${accountSid}/Calls.json?PageSize=${pageSize}&Page=${p}`;
      return {
        calls: slice.map(callResource),
        end: start + slice.length - 1,
        first_page_uri: uri(0),
        next_page_uri: start + pageSize < all.length ? uri(page + 1) : null,
        page,
        page_size: pageSize,
        previous_page_uri: page > 0 ? uri(page - 1) : null,
        start,
        uri: uri(page),
      };
    },
  );

  app.get<{ Params: CallParams }>(`${BASE}/Calls/:callFile`, async (req) => {
    const { accountSid, callFile } = req.params;
    admit(req, deps, accountSid);
    return callResource(sim.getOwnedCall(accountSid, callSidOf(callFile, accountSid)));
  });

  app.post<{ Params: CallParams; Body: FormParams }>(`${BASE}/Calls/:callFile`, async (req) => {
    const { accountSid, callFile } = req.params;
    admit(req, deps, accountSid);
    return sim.updateCall(accountSid, callSidOf(callFile, accountSid), req.body ?? {});
  });

  conferenceRoutes(app, deps);
}

interface ConferenceParams extends AccountParams {
  confFile: string;
}
interface ConferenceChildParams extends AccountParams {
  conferenceSid: string;
}
interface ParticipantParams extends ConferenceChildParams {
  participantFile: string;
}

/** `X.json` → `X`, else 20404 naming the path. */
function stripJson(file: string, req: FastifyRequest): string {
  if (!file.endsWith('.json')) {
    throw new TwilioApiError('NOT_FOUND', `The requested resource ${req.url} was not found`);
  }
  return file.slice(0, -'.json'.length);
}

/** A one-page list response in Twilio's paging shape. */
function page(key: string, items: unknown[], uri: string): Record<string, unknown> {
  return {
    [key]: items,
    end: items.length - 1,
    first_page_uri: uri,
    next_page_uri: null,
    page: 0,
    page_size: Math.max(50, items.length),
    previous_page_uri: null,
    start: 0,
    uri,
  };
}

/** Conferences and Participants (conference.ts). */
function conferenceRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { sim } = deps;
  app.get<{ Params: AccountParams; Querystring: Record<string, string | undefined> }>(
    `${BASE}/Conferences.json`,
    async (req) => {
      const { accountSid } = req.params;
      admit(req, deps, accountSid);
      const list = sim.listConferences(accountSid, {
        ...(req.query.FriendlyName !== undefined ? { friendlyName: req.query.FriendlyName } : {}),
        ...(req.query.Status !== undefined ? { status: req.query.Status } : {}),
      });
      return page('conferences', list, `/2010-04-01/Accounts/${accountSid}/Conferences.json`);
    },
  );
  app.get<{ Params: ConferenceParams }>(`${BASE}/Conferences/:confFile`, async (req) => {
    const { accountSid } = req.params;
    admit(req, deps, accountSid);
    return conferenceResource(sim.getConference(accountSid, stripJson(req.params.confFile, req)));
  });
  app.post<{ Params: ConferenceParams; Body: FormParams }>(
    `${BASE}/Conferences/:confFile`,
    async (req) => {
      const { accountSid } = req.params;
      admit(req, deps, accountSid);
      return sim.updateConference(accountSid, stripJson(req.params.confFile, req), req.body ?? {});
    },
  );
  app.get<{ Params: ConferenceChildParams }>(
    `${BASE}/Conferences/:conferenceSid/Participants.json`,
    async (req) => {
      const { accountSid, conferenceSid } = req.params;
      admit(req, deps, accountSid);
      return page(
        'participants',
        sim.listParticipants(accountSid, conferenceSid),
        `/2010-04-01/Accounts/${accountSid}/Conferences/${conferenceSid}/Participants.json`,
      );
    },
  );
  app.post<{ Params: ConferenceChildParams; Body: FormParams }>(
    `${BASE}/Conferences/:conferenceSid/Participants.json`,
    async (req, reply) => {
      const { accountSid, conferenceSid } = req.params;
      const token = admit(req, deps, accountSid);
      const resource = sim.createParticipant(accountSid, token, conferenceSid, req.body ?? {});
      return reply.code(201).send(resource);
    },
  );
  const participantPath = `${BASE}/Conferences/:conferenceSid/Participants/:participantFile`;
  app.get<{ Params: ParticipantParams }>(participantPath, async (req) => {
    const { accountSid, conferenceSid, participantFile } = req.params;
    admit(req, deps, accountSid);
    return sim.getParticipant(accountSid, conferenceSid, stripJson(participantFile, req));
  });
  app.post<{ Params: ParticipantParams; Body: FormParams }>(participantPath, async (req) => {
    const { accountSid, conferenceSid, participantFile } = req.params;
    admit(req, deps, accountSid);
    return sim.updateParticipant(
      accountSid,
      conferenceSid,
      stripJson(participantFile, req),
      req.body ?? {},
    );
  });
  app.delete<{ Params: ParticipantParams }>(participantPath, async (req, reply) => {
    const { accountSid, conferenceSid, participantFile } = req.params;
    admit(req, deps, accountSid);
    sim.deleteParticipant(accountSid, conferenceSid, stripJson(participantFile, req));
    return reply.code(204).send();
  });
}
