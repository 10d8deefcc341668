import { describe, expect, it } from 'vitest';

import { classifyDialError, describeDialError } from '../src/domain/dial-errors.js';

/** The shape the twilio SDK's RestException has (status, code, message). */
function restException(status: number, code: number, message: string) {
  return Object.assign(new Error(message), { status, code });
}

/** The shape of an axios network error (a code, no status). */
function networkError(code: string, message = `connect ${code}`) {
  return Object.assign(new Error(message), { code });
}

describe('campaign-scheduler - dial errors', () => {
  it('a 429 was never processed: retry later', () => {
    expect(classifyDialError(restException(429, 20429, 'Too Many Requests'))).toEqual({
      kind: 'rate-limited',
      status: 429,
      code: '20429',
      message: 'Too Many Requests',
    });
  });

  it('a 5xx or a broken connection may have created the call', () => {
    expect(classifyDialError(restException(500, 20500, 'Internal')).kind).toBe('unknown-outcome');
    expect(classifyDialError(restException(503, 20503, 'Unavailable')).kind).toBe(
      'unknown-outcome',
    );
    expect(classifyDialError(networkError('ECONNRESET', 'socket hang up')).kind).toBe(
      'unknown-outcome',
    );
  });

  it('a connection never made is safe to retry; a timeout is not known yet', () => {
    expect(classifyDialError(networkError('ECONNREFUSED')).kind).toBe('not-sent');
    expect(classifyDialError(networkError('ENOTFOUND')).kind).toBe('not-sent');
    expect(classifyDialError(networkError('ECONNABORTED', 'timeout of 250ms exceeded')).kind).toBe(
      'timed-out',
    );
  });

  it('any other 4xx is final, with Twilio error code and message kept', () => {
    const e = classifyDialError(restException(400, 21215, 'Account not authorized to call +44…'));
    expect(e.kind).toBe('refused');
    expect(describeDialError(e)).toBe('twilio 400 21215: Account not authorized to call +44…');
    expect(classifyDialError(restException(400, 21211, 'Invalid To')).kind).toBe('refused');
  });
});
