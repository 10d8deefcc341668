import { describe, expect, it } from 'vitest';

import { callLogger, maskPhone, type CreateLoggerOptions } from '../src/logger.js';
import { captureLogs } from '../src/testing.js';

/** A gateway logger whose lines are kept, parsed. */
function capture(opts: Partial<CreateLoggerOptions> = {}) {
  return captureLogs({ service: 'gateway', version: '1.2.3', pod: 'gw-0', ...opts });
}

describe('logger', () => {
  it('writes JSON lines with the base fields and an ISO timestamp', () => {
    const { log, lines } = capture();
    log.info({ durationMs: 12 }, 'call ended');
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      level: 30,
      service: 'gateway',
      version: '1.2.3',
      pod: 'gw-0',
      durationMs: 12,
      msg: 'call ended',
    });
    expect(line?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("hands every fatal line's error to onFatal, and still writes the line", () => {
    const fatal: Array<{ err: unknown; message: string | undefined }> = [];
    const { log, lines } = capture({ onFatal: (err, message) => fatal.push({ err, message }) });
    const boom = new Error('boom');
    log.error({ err: new Error('only an error') }, 'not fatal');
    log.fatal({ err: boom, origin: 'test' }, 'dying');
    log.fatal(boom);
    log.fatal('no error object');
    expect(fatal).toEqual([
      { err: boom, message: 'dying' },
      { err: boom, message: 'boom' },
      { err: 'no error object', message: 'no error object' },
    ]);
    expect(lines.map((l) => l.msg)).toEqual(['not fatal', 'dying', 'boom', 'no error object']);
  });

  it('writes a fatal line even when onFatal throws', () => {
    const { log, lines } = capture({
      onFatal: () => {
        throw new Error('reporter down');
      },
    });
    log.fatal('still written');
    expect(lines.map((l) => l.msg)).toEqual(['still written']);
  });

  it('respects the level', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });

  it('serializes errors under err, including the cause', () => {
    const { log, lines } = capture();
    log.error({ err: new Error('outer', { cause: new Error('inner') }) }, 'failed');
    const err = lines[0]?.err as Record<string, unknown>;
    expect(err.type).toBe('Error');
    expect(err.message).toContain('outer');
    expect(String(err.stack)).toContain('inner');
  });

  it('redacts secrets by path, at the top level and nested', () => {
    const { log, lines } = capture();
    log.info(
      {
        authorization: 'Bearer abc',
        token: 't0k3n',
        config: { DATABASE_URL: 'postgres://u:pw@db/app', HTTP_PORT: 8080 },
        twilio: { apiKey: 'k', auth: { password: 'pw' } },
        req: { headers: { authorization: 'Bearer x', cookie: 'sid=1' } },
      },
      'starting',
    );
    const line = JSON.stringify(lines[0]);
    for (const secret of [
      'Bearer abc',
      't0k3n',
      'postgres://',
      '"k"',
      '"pw"',
      'Bearer x',
      'sid=1',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      authorization: '[REDACTED]',
      config: { DATABASE_URL: '[REDACTED]', HTTP_PORT: 8080 },
      twilio: { apiKey: '[REDACTED]', auth: { password: '[REDACTED]' } },
    });
  });

  it('redacts pii unless logPii is set, and masks phone numbers even then', () => {
    const hidden = capture();
    hidden.log.info({ pii: { transcript: 'my card is 4111', from: '+14155551234' } }, 'turn');
    expect(hidden.lines[0]?.pii).toBe('[REDACTED]');

    const shown = capture({ logPii: true });
    shown.log.info({ pii: { transcript: 'hello', from: '+14155551234' } }, 'turn');
    expect(shown.lines[0]?.pii).toEqual({ transcript: 'hello', from: '+1415*****34' });
  });

  it('masks phone numbers under phone keys at the top level and nested', () => {
    const { log, lines } = capture();
    const payload = {
      from: '+14155551234',
      to: '+442071234567',
      call: { caller: '+14155550000', callee: 'client:alice', phone: 4155550000 },
      twilio: { params: { From: '+14155551234', To: 'sip:+14155559876@trunk.example.com' } },
      transition: { from: 'ringing', to: 'answered' },
    };
    log.info(payload, 'call created');
    expect(lines[0]).toMatchObject({
      from: '+1415*****34',
      to: '+4420******67',
      call: { caller: '+1415*****00', callee: 'client:alice', phone: 4155550000 },
      twilio: { params: { From: '+1415*****34', To: 'sip:+1415*****76@trunk.example.com' } },
      transition: { from: 'ringing', to: 'answered' },
    });
    // The caller's object is left untouched.
    expect(payload.from).toBe('+14155551234');
  });

  it('masks the phone columns of database rows logged whole, at the top level and nested', () => {
    const { log, lines } = capture();
    const call = { id: 'c-1', fromNumber: '+15555550142', toNumber: '+15555550100' };
    log.info(call, 'call row');
    log.info(
      {
        call,
        number: { id: 'n-1', e164: '+15555550100' },
        campaign: { id: 'k-1', fromNumbers: ['+15555550100', '+15555550101'] },
        contact: { phone: '+447700900123', callerNumber: '+15555550142' },
        raw: { row: { from_number: '+15555550142', to_number: '+15555550100' } },
      },
      'rows',
    );
    expect(lines[0]).toMatchObject({
      id: 'c-1',
      fromNumber: '+1555*****42',
      toNumber: '+1555*****00',
    });
    expect(lines[1]).toMatchObject({
      call: { id: 'c-1', fromNumber: '+1555*****42', toNumber: '+1555*****00' },
      number: { id: 'n-1', e164: '+1555*****00' },
      campaign: { id: 'k-1', fromNumbers: ['+1555*****00', '+1555*****01'] },
      contact: { phone: '+4477******23', callerNumber: '+1555*****42' },
      raw: { row: { from_number: '+1555*****42', to_number: '+1555*****00' } },
    });
    // No full number survives anywhere in the written lines.
    for (const line of lines) expect(JSON.stringify(line)).not.toMatch(/\+\d{7,}/);
    // The row the caller holds is left untouched.
    expect(call.fromNumber).toBe('+15555550142');
  });

  it('masks phone numbers bound to a child logger', () => {
    const { log, lines } = capture();
    log.child({ from: '+14155551234' }).info('bound');
    expect(lines[0]?.from).toBe('+1415*****34');
  });

  it('binds callId and callSid on per-call child loggers', () => {
    const { log, lines } = capture();
    callLogger(log, { callId: 'c-1', callSid: 'CA123' }).info('answered');
    callLogger(log, { callId: 'c-2' }).info('answered');
    expect(lines[0]).toMatchObject({ callId: 'c-1', callSid: 'CA123', service: 'gateway' });
    expect(lines[1]).toMatchObject({ callId: 'c-2' });
    expect(lines[1]).not.toHaveProperty('callSid');
  });

  it('maskPhone keeps the first 4 digits and the last 2, and leaves non-phones alone', () => {
    expect(maskPhone('+14155551234')).toBe('+1415*****34');
    expect(maskPhone('4155551234')).toBe('4155****34');
    expect(maskPhone('+1 (415) 555-1234')).toBe('+1415*****34');
    for (const value of ['answered', 'client:alice', '12345', 'CA0123456789abcdef', '']) {
      expect(maskPhone(value)).toBe(value);
    }
  });
});

describe('logger - free text, errors and request URLs', () => {
  it('masks E.164 numbers and removes credentials in messages and their format arguments', () => {
    const { log, lines } = capture();
    log.info('call from +14155551234 via sip:+14155559876@trunk');
    log.warn('connect to %s failed', 'postgresql://app:hunter2-pw@db:5432/voice');
    log.info({ note: 'kept' }, 'header was Bearer abc.def-ghi');
    expect(lines.map((l) => l.msg)).toEqual([
      'call from +1415*****34 via sip:+1415*****76@trunk',
      'connect to postgresql://[REDACTED]@db:5432/voice failed',
      'header was Bearer [REDACTED]',
    ]);
    expect(lines[2]).toMatchObject({ note: 'kept' });
  });

  it('scrubs the message and the stack of logged errors', () => {
    const { log, lines } = capture();
    log.error(
      { err: new Error('dial +14155551234 failed: postgres://u:secret-pw@h/db') },
      'dial failed',
    );
    const err = lines[0]?.err as { message: string; stack: string; type: string };
    expect(err.type).toBe('Error');
    for (const text of [err.message, err.stack]) {
      expect(text).toContain('dial +1415*****34 failed: postgres://[REDACTED]@h/db');
      expect(text).not.toContain('secret-pw');
      expect(text).not.toContain('14155551234');
    }
  });

  it.each([
    ['/v1/do-not-call/%2B14155551234', '/v1/do-not-call/%2B1415*****34'],
    ['/v1/calls?phone=%2B14155551234&limit=10', '/v1/calls?phone=%2B1415*****34&limit=10'],
    ['/v1/calls?phone=+14155551234', '/v1/calls?phone=%2B1415*****34'],
    ['/v1/calls?to=4155551234', '/v1/calls?to=4155****34'],
    ['/x?q=call%20%2B14155551234%20now', '/x?q=call%20%2B1415*****34%20now'],
    [
      '/twilio/outbound?token=v1.abc.def&callId=c-1',
      '/twilio/outbound?token=[REDACTED]&callId=c-1',
    ],
    [
      '/x?api_key=k&X-Amz-Signature=s&csrf=c',
      '/x?api_key=[REDACTED]&X-Amz-Signature=[REDACTED]&csrf=[REDACTED]',
    ],
    // Not phone numbers: ids, dates, small numbers, a bare numeric id segment.
    ['/v1/calls/0b6e2a8f-1234-4e4f-9a1b-123456789012?since=2026-12-01&limit=100', null],
    ['/v1/calls/1234567?cursor=abc', null],
  ])('logs the request URL %s without secrets or numbers', (url, expected) => {
    const { log, lines } = capture();
    log.info(
      { req: { method: 'GET', url, host: 'h', ip: '10.0.0.1', socket: { remotePort: 1 } } },
      'incoming request',
    );
    expect(lines[0]?.req).toEqual({
      method: 'GET',
      url: expected ?? url,
      host: 'h',
      remoteAddress: '10.0.0.1',
      remotePort: 1,
    });
  });

  it('leaves a logged `req` that is not a request to redaction by path', () => {
    const { log, lines } = capture();
    log.info({ req: { id: 'r-1', headers: { authorization: 'Bearer x' } } }, 'custom');
    expect(lines[0]?.req).toEqual({ id: 'r-1', headers: { authorization: '[REDACTED]' } });
  });
});
