/**
 * The HTTP client connection of HTTP tools, with the SSRF guard where it cannot be bypassed: on
 * the address each socket actually connects to. A check of the URL before fetching would be
 * undone by DNS rebinding (a name resolving to a public address when checked, to 127.0.0.1 when
 * connecting) and by redirects; here every new connection (each retry, each pooled socket) is
 * checked after resolution, by `domain/destination-policy.ts`.
 *
 * An undici `Agent` (the engine of Node's fetch), whose connector:
 * - refuses an IP-literal host before any socket exists (`net.connect` skips `lookup` for those);
 * - resolves names itself (`lookup`) and refuses when any resolved address is not allowed, so
 *   nothing is sent to the destination.
 * The refusal is a {@link DestinationNotAllowedError}, the `cause` of fetch's TypeError.
 */
import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

import { Agent, buildConnector } from 'undici';

import { type DestinationPolicy } from '../domain/destination-policy.js';

/** The tool's host (or its resolved address) is not one HTTP tools may reach. */
export class DestinationNotAllowedError extends Error {
  readonly code = 'ERR_DESTINATION_NOT_ALLOWED';

  constructor(
    /** The URL's host name or IP. */
    readonly host: string,
    /** The refused address it is, or resolved to. */
    readonly address: string,
    /** Its range by ipaddr.js (`loopback`, `private`, `linkLocal`, …). */
    readonly range: string,
  ) {
    super(
      host === address
        ? `${address} is a ${range} address, which HTTP tools may not reach`
        : `${host} resolves to ${address}, a ${range} address, which HTTP tools may not reach`,
    );
    this.name = 'DestinationNotAllowedError';
  }
}

/** undici's connector called with a callback (the form `buildConnector` returns). */
type Connect = (options: buildConnector.Options, callback: buildConnector.Callback) => void;

/** Resolves a host name to all its addresses (as `dns.lookup` with `all: true`). */
export type ResolveHost = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

export interface GuardedDispatcherOptions {
  readonly policy: DestinationPolicy;
  /** @defaultValue `dns.lookup` (the system resolver, what `net.connect` uses) */
  readonly resolve?: ResolveHost;
}

const systemResolve: ResolveHost = (hostname, options) =>
  dns.lookup(hostname, { ...options, all: true });

/** The first refused address of `addresses`, if any. */
function refusal(
  policy: DestinationPolicy,
  host: string,
  addresses: readonly string[],
): DestinationNotAllowedError | null {
  for (const address of addresses) {
    const verdict = policy.check(host, address);
    if (!verdict.allowed) return new DestinationNotAllowedError(host, address, verdict.range);
  }
  return null;
}

/** An undici dispatcher whose connections only go where `policy` allows; close it when done. */
export function guardedDispatcher(options: GuardedDispatcherOptions): Agent {
  const { policy } = options;
  const resolve = options.resolve ?? systemResolve;

  // One name resolving to several addresses (round robin, dual stack) is refused if any of them
  // is: the connection may use any of them (happy eyeballs tries several).
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname, lookupOptions).then(
      (addresses) => {
        const first = addresses[0];
        if (!first) {
          const err: NodeJS.ErrnoException = new Error(`no address found for ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, '', 0);
          return;
        }
        const refused = refusal(
          policy,
          hostname,
          addresses.map((a) => a.address),
        );
        if (refused) callback(refused, '', 0);
        else if (lookupOptions.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
  const connect = buildConnector({ lookup }) as Connect;
  const guardedConnect: Connect = (connectOptions, callback) => {
    // undici passes IPv6 literals without brackets.
    const host = connectOptions.hostname;
    if (isIP(host)) {
      const refused = refusal(policy, host, [host]);
      if (refused) {
        callback(refused, null);
        return;
      }
    }
    connect(connectOptions, callback);
  };
  return new Agent({ connect: guardedConnect });
}
