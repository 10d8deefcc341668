/**
 * Tests that try to get out of the dashboard folder (issue 10): path traversal, plain and
 * encoded, in the static files (src/routes/dashboard-static.ts) and in the CSV export's
 * parameters, against the gateway wired as main.ts wires it (./security-fixture.ts). A file
 * next to the dashboard folder, and /etc/passwd, must never be served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SECRET_FILE_TEXT, securityFixture, type SecurityFixture } from './security-fixture.js';

let f: SecurityFixture;

beforeAll(async () => {
  f = await securityFixture();
}, 120_000);

afterAll(async () => {
  await f?.close();
});

const TRAVERSALS = [
  '/assets/../../secret.txt',
  '/assets/../../../../../../etc/passwd',
  '/assets/..%2f..%2fsecret.txt',
  '/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
  '/assets/%2e%2e/%2e%2e/secret.txt',
  '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
  '/assets/%252e%252e%252fsecret.txt',
  '/assets/..%5c..%5csecret.txt',
  '/assets/....//....//secret.txt',
  '/assets/..;/..;/secret.txt',
  '/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt',
  '/assets/app-1234.js%00../../secret.txt',
  '/assets//etc/passwd',
  '/..%2fsecret.txt',
  '/%2e%2e/secret.txt',
  '/../dashboard-secret.txt',
  '/..%2fdashboard-secret.txt',
  '/%2e%2e%2fdashboard-secret.txt',
  '//etc/passwd',
  '/%2fetc%2fpasswd',
  '/etc/passwd',
  '/assets/%2fetc%2fpasswd',
];

describe('security - path traversal', { timeout: 120_000 }, () => {
  it('serves the dashboard files, and nothing outside its folder however the path is written', async () => {
    const asset = await f.inject({ method: 'GET', url: '/assets/app-1234.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.body).toContain('dashboard');

    for (const url of TRAVERSALS) {
      for (const accept of ['*/*', 'text/html']) {
        const res = await f.inject({ method: 'GET', url, headers: { accept } });
        expect(res.body, `${url} (${accept})`).not.toContain(SECRET_FILE_TEXT);
        expect(res.body, `${url} (${accept})`).not.toMatch(/root:.*:0:0:/);
        // Refused, or the dashboard's own index.html for a page path: never another file.
        if (res.statusCode === 200) {
          expect(res.headers['content-type'], url).toMatch(/^text\/html/);
          expect(res.body, url).toContain('<div id="app">');
        } else {
          expect([400, 403, 404], `${url} -> ${res.statusCode}`).toContain(res.statusCode);
        }
      }
    }
  });

  it('the CSV export takes no path: traversal in its parameters is refused or ignored, and its file name is fixed', async () => {
    const attempts = [
      'from=../../etc/passwd',
      'to=..%2F..%2Fetc%2Fpasswd',
      'agentId=../../secret.txt',
      'campaignId=%2e%2e%2fsecret.txt',
      'endReason=../../secret.txt',
      'q=../../secret.txt',
      'filename=../../secret.txt',
      'path=/etc/passwd',
    ];
    for (const query of attempts) {
      const res = await f.call('GET', `/v1/calls/export.csv?${query}`, undefined, 'viewer');
      expect([200, 400], `${query} -> ${res.statusCode}`).toContain(res.statusCode);
      expect(res.body).not.toContain(SECRET_FILE_TEXT);
      expect(res.body).not.toMatch(/root:.*:0:0:/);
      if (res.statusCode === 200) {
        expect(res.headers['content-type']).toMatch(/^text\/csv/);
        expect(res.headers['content-disposition']).toMatch(
          /^attachment; filename="calls[\w-]*\.csv"$/,
        );
      }
    }
    // A `from`/`to` pair names the file only through parsed dates.
    const named = await f.call(
      'GET',
      '/v1/calls/export.csv?from=2026-01-01&to=2026-02-01T00:00:00Z',
      undefined,
      'viewer',
    );
    expect(named.statusCode).toBe(200);
    expect(named.headers['content-disposition']).toMatch(
      /^attachment; filename="calls[\w-]*\.csv"$/,
    );
  });
});
