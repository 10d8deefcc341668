/**
 * Which network addresses an HTTP tool may connect to (the SSRF guard's rules; the connection
 * side is `adapters/guarded-dispatcher.ts`). An admin configures a tool's URL, so without this a
 * tool could reach the cloud metadata service (169.254.169.254), the cluster's own services, or
 * the runner's loopback.
 *
 * Public means: ipaddr.js classifies the address as `unicast` (no special range: not private,
 * loopback, link-local, CGNAT, multicast, unspecified, broadcast, reserved, documentation, …),
 * and for IPv6 it lies in the global unicast block 2000::/3 (RFC 4291), which leaves out the
 * deprecated IPv4-compatible ::/96 and unassigned space. IPv4-mapped IPv6 (::ffff:10.0.0.1) is
 * judged as the IPv4 address it carries (so is the deprecated IPv4-compatible ::a.b.c.d). Everything else is refused unless the deployment allows
 * it: every private network (`allowPrivateNetworks`), or listed host names and CIDRs
 * (`allowedHosts`, for in-cluster tools).
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface DestinationPolicyOptions {
  /** Any address is allowed (development and tests, where tools run on loopback). */
  readonly allowPrivateNetworks: boolean;
  /**
   * Allowed even though not public: host names (`inventory.tools.svc.cluster.local`), subdomain
   * wildcards (`*.tools.svc.cluster.local`), IP addresses and CIDRs (`10.20.0.0/16`).
   */
  readonly allowedHosts: readonly string[];
}

/** One parsed entry of `allowedHosts`. */
export type AllowedHostEntry =
  | { readonly kind: 'host'; readonly name: string }
  | { readonly kind: 'subdomains'; readonly suffix: string }
  | { readonly kind: 'cidr'; readonly range: [Address, number] };

export type DestinationVerdict =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** The address's range by ipaddr.js (`loopback`, `private`, `linkLocal`, …). */
      readonly range: string;
    };

export interface DestinationPolicy {
  /** Whether `host` (the URL's host name or IP) may be reached at `address` (what it resolved to). */
  check(host: string, address: string): DestinationVerdict;
}

// A DNS name: dot-separated labels of letters, digits and inner hyphens (URL host names are
// already lowercase and punycode).
const HOST_NAME =
  /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The only IPv6 block with public addresses (RFC 4291 §2.4): 2000::/3. */
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

const stripDot = (host: string) => (host.endsWith('.') ? host.slice(0, -1) : host);
const unbracket = (host: string) =>
  host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;

/** Parses an address, unwrapping IPv4-mapped IPv6; null when it is not one. */
function parseAddress(text: string): Address | null {
  const bare = unbracket(text);
  // `isValid` also takes shorthand forms (`127.1`, `0x7f.0.0.1`); URL parsing and DNS give
  // canonical ones, and a refused odd form is safer than a misread one.
  if (!ipaddr.IPv4.isValidFourPartDecimal(bare) && !ipaddr.IPv6.isValid(bare)) return null;
  return ipaddr.process(bare);
}

/**
 * The address's range: `unicast` when it is public, else the special range it is in (ipaddr.js
 * names, plus `nonGlobal` for IPv6 outside 2000::/3 and `invalid` for something unparsable).
 */
export function addressRange(address: string): string {
  const parsed = parseAddress(address);
  if (!parsed) return 'invalid';
  const range = parsed.range();
  if (range !== 'unicast') return range;
  if (parsed.kind() === 'ipv6' && !parsed.match(IPV6_GLOBAL_UNICAST)) return 'nonGlobal';
  return range;
}

/** True for an address on the public internet. */
export const isPublicAddress = (address: string): boolean => addressRange(address) === 'unicast';

/**
 * Parses one `allowedHosts` entry (case-insensitive, a trailing dot ignored).
 *
 * @throws TypeError naming the entry and the accepted forms.
 */
export function parseAllowedHost(entry: string): AllowedHostEntry {
  const text = stripDot(entry.trim().toLowerCase());
  const fail = () =>
    new TypeError(
      `"${entry}" is not a host name, *.subdomain wildcard, IP address or CIDR (e.g. tools.internal, *.svc.cluster.local, 10.0.0.5, 10.20.0.0/16)`,
    );
  if (text.includes('/')) {
    const [, ip = '', bits = ''] = /^([^/]+)\/(\d{1,3})$/.exec(text) ?? [];
    const base = parseAddress(ip);
    const prefix = Number(bits);
    if (!base || prefix > (base.kind() === 'ipv4' && !ip.includes(':') ? 32 : 128)) throw fail();
    // `parseAddress` unwraps `::ffff:10.0.0.0`; its /104 is the mapped IPv4 range's /8.
    const unwrapped = base.kind() === 'ipv4' && ip.includes(':');
    if (unwrapped && prefix < 96) throw fail();
    return { kind: 'cidr', range: [base, unwrapped ? prefix - 96 : prefix] };
  }
  const address = parseAddress(text);
  if (address) return { kind: 'cidr', range: [address, address.kind() === 'ipv4' ? 32 : 128] };
  if (text.startsWith('*.') && HOST_NAME.test(text.slice(2))) {
    return { kind: 'subdomains', suffix: text.slice(1) };
  }
  if (HOST_NAME.test(text)) return { kind: 'host', name: text };
  throw fail();
}

/**
 * Builds the policy; entries are parsed here so a bad one fails at start-up.
 *
 * @throws TypeError for an `allowedHosts` entry that is neither a host name nor an IP/CIDR.
 */
export function destinationPolicy(options: DestinationPolicyOptions): DestinationPolicy {
  const entries = options.allowedHosts.map(parseAllowedHost);
  const hostListed = (host: string) => {
    const name = stripDot(host.toLowerCase());
    return entries.some(
      (e) =>
        (e.kind === 'host' && e.name === name) ||
        (e.kind === 'subdomains' && name.endsWith(e.suffix)),
    );
  };
  const addressListed = (address: Address) =>
    entries.some(
      (e) => e.kind === 'cidr' && e.range[0].kind() === address.kind() && address.match(e.range),
    );

  return {
    check(host, address) {
      const range = addressRange(address);
      if (range === 'unicast' || options.allowPrivateNetworks) return { allowed: true };
      const parsed = parseAddress(address);
      if (parsed && (hostListed(host) || addressListed(parsed))) return { allowed: true };
      return { allowed: false, range };
    },
  };
}
