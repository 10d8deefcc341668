/**
 * A self-signed certificate generated at start, so the simulator can serve `wss://`: the
 * openai SDK's realtime helper always connects with `wss:` (openai-realtime.md §7.4). Clients
 * trust it by passing `tlsCertPem` as `ca` to `ws` (the SDK forwards `options` to `ws`).
 */
import { isIP } from 'node:net';

import { generate } from 'selfsigned';

export interface TlsMaterial {
  keyPem: string;
  certPem: string;
}

/** A certificate for `localhost`, 127.0.0.1, ::1 and `host`, valid for a day. */
export async function generateCertificate(host: string): Promise<TlsMaterial> {
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  if (isIP(host)) {
    if (host !== '127.0.0.1' && host !== '::1') altNames.push({ type: 7, ip: host });
  } else if (host !== 'localhost') {
    altNames.push({ type: 2, value: host });
  }
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'openai-sim.local' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 24 * 3_600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { keyPem: pems.private, certPem: pems.cert };
}
