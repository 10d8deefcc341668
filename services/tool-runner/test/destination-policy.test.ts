import { describe, expect, it } from 'vitest';

import {
  addressRange,
  destinationPolicy,
  isPublicAddress,
  parseAllowedHost,
} from '../src/domain/destination-policy.js';

const deny = destinationPolicy({ allowPrivateNetworks: false, allowedHosts: [] });

describe('tool-runner - destination policy (SSRF guard)', () => {
  // Classified only: nothing here connects (there is no internet in tests).
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:82a::200e',
  ])('%s is public and allowed by default', (address) => {
    expect(addressRange(address)).toBe('unicast');
    expect(isPublicAddress(address)).toBe(true);
    expect(deny.check('tool.example.com', address)).toEqual({ allowed: true });
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    // AWS's IPv6 instance metadata endpoint.
    ['fd00:ec2::254', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    // IPv4-mapped IPv6 is judged as the IPv4 address it carries.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', 'private'],
    // IPv6 forms that carry an IPv4 address onward (NAT64, 6to4, Teredo).
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::1', '6to4'],
    ['2001:0:4136:e378::1', 'teredo'],
    // Deprecated IPv4-compatible IPv6: judged as its IPv4 address as well.
    ['::127.0.0.1', 'loopback'],
    // Unassigned space outside 2000::/3.
    ['4000::1', 'nonGlobal'],
    ['::2', 'nonGlobal'],
    // Shorthand IPv4 forms are refused rather than guessed at.
    ['127.1', 'invalid'],
    ['0x7f.0.0.1', 'invalid'],
    ['not-an-address', 'invalid'],
  ])('%s is %s, refused by default', (address, range) => {
    expect(addressRange(address)).toBe(range);
    expect(isPublicAddress(address)).toBe(false);
    expect(deny.check('tool.example.com', address)).toEqual({ allowed: false, range });
  });

  it('allowPrivateNetworks lets every address through', () => {
    const open = destinationPolicy({ allowPrivateNetworks: true, allowedHosts: [] });
    for (const address of ['127.0.0.1', '::1', '169.254.169.254', '10.0.0.1', '8.8.8.8']) {
      expect(open.check('anything', address)).toEqual({ allowed: true });
    }
  });

  it('allowedHosts: names, *.wildcards, addresses and CIDRs, and nothing else', () => {
    const policy = destinationPolicy({
      allowPrivateNetworks: false,
      allowedHosts: [
        'Inventory.Tools.Internal.',
        '*.svc.cluster.local',
        '10.20.0.0/16',
        'fd12:3456::/32',
        '192.168.7.7',
        '::ffff:172.16.0.0/112',
      ],
    });
    const allowed = (host: string, address: string) => policy.check(host, address).allowed;

    // Names: exact (case and a trailing dot aside), at whatever they resolve to.
    expect(allowed('inventory.tools.internal', '10.9.9.9')).toBe(true);
    expect(allowed('inventory.tools.internal.', '127.0.0.1')).toBe(true);
    expect(allowed('other.tools.internal', '10.9.9.9')).toBe(false);
    expect(allowed('x.inventory.tools.internal', '10.9.9.9')).toBe(false);
    // Wildcards: subdomains only.
    expect(allowed('crm.tools.svc.cluster.local', '10.96.0.12')).toBe(true);
    expect(allowed('svc.cluster.local', '10.96.0.12')).toBe(false);
    expect(allowed('evilsvc.cluster.local', '10.96.0.12')).toBe(false);
    // CIDRs and addresses, whatever the name; IPv4-mapped addresses match IPv4 ranges.
    expect(allowed('a.example', '10.20.3.4')).toBe(true);
    expect(allowed('a.example', '::ffff:10.20.3.4')).toBe(true);
    expect(allowed('a.example', '10.21.0.1')).toBe(false);
    expect(allowed('a.example', 'fd12:3456::9')).toBe(true);
    expect(allowed('a.example', 'fd12:3457::9')).toBe(false);
    expect(allowed('192.168.7.7', '192.168.7.7')).toBe(true);
    expect(allowed('192.168.7.8', '192.168.7.8')).toBe(false);
    expect(allowed('a.example', '172.16.200.1')).toBe(true);
    expect(allowed('a.example', '172.17.0.1')).toBe(false);
    // The metadata address stays refused: it is in no listed range.
    expect(policy.check('a.example', '169.254.169.254')).toEqual({
      allowed: false,
      range: 'linkLocal',
    });
  });

  it('parses allowlist entries, and names a bad one with the accepted forms', () => {
    expect(parseAllowedHost(' tools.internal ')).toEqual({ kind: 'host', name: 'tools.internal' });
    expect(parseAllowedHost('*.svc.cluster.local')).toEqual({
      kind: 'subdomains',
      suffix: '.svc.cluster.local',
    });
    expect(parseAllowedHost('[::1]')).toMatchObject({
      kind: 'cidr',
      range: [expect.anything(), 128],
    });
    expect(parseAllowedHost('10.0.0.5')).toMatchObject({
      kind: 'cidr',
      range: [expect.anything(), 32],
    });

    for (const bad of [
      'http://tools.internal',
      'tools.internal:8080',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/8/9',
      '10.0.0.0/',
      '127.1/8',
      '*.',
      '*',
      'exa mple.com',
      '-bad.example',
      '::ffff:10.0.0.0/64',
    ]) {
      expect(() => parseAllowedHost(bad), bad).toThrow(TypeError);
      expect(() => parseAllowedHost(bad), bad).toThrow(/IP address or CIDR \(e\.g\./);
    }
    expect(() =>
      destinationPolicy({ allowPrivateNetworks: false, allowedHosts: ['ok.example', 'no way'] }),
    ).toThrow(/"no way" is not a host name/);
  });
});
