import { describe, expect, it } from 'vitest';

import { signWebhook } from '../src/adapters/notifier.js';
import {
  callerLegTwiml,
  coldTransferTwiml,
  humanLegTwiml,
  noHumanReason,
  targetFor,
  whisperText,
} from '../src/domain/transfer-plan.js';

const human = {
  phoneNumber: '+15555550171',
  sipUri: 'sip:a@pbx.example.com',
  twilioClientIdentity: 'desk_a',
};

describe('transfer plan', () => {
  it('targets: Media Streams prefers a number, then the softphone, then SIP; SIP never a softphone', () => {
    expect(targetFor(human, 'media-streams')).toBe('+15555550171');
    expect(targetFor({ ...human, phoneNumber: null }, 'media-streams')).toBe('client:desk_a');
    expect(
      targetFor(
        { phoneNumber: null, twilioClientIdentity: null, sipUri: 'sip:a@x' },
        'media-streams',
      ),
    ).toBe('sip:a@x');
    expect(targetFor(human, 'sip')).toBe('sip:a@pbx.example.com');
    expect(targetFor({ ...human, sipUri: null }, 'sip')).toBe('+15555550171');
    expect(
      targetFor({ phoneNumber: null, sipUri: null, twilioClientIdentity: 'desk_a' }, 'sip'),
    ).toBeNull();
  });

  it('cold TwiML dials the right noun with our caller id', () => {
    expect(coldTransferTwiml('+15555550171', '+15555550100', 20)).toContain(
      '<Dial callerId="+15555550100" timeout="20"><Number>+15555550171</Number></Dial>',
    );
    expect(coldTransferTwiml('client:desk_a', '+15555550100', 20)).toContain(
      '<Client>desk_a</Client>',
    );
    expect(coldTransferTwiml('sip:a@x', '+15555550100', 20)).toContain('<Sip>sip:a@x</Sip>');
    expect(coldTransferTwiml('+15555550171', '+15555550100', 20)).toMatch(
      /<\/Dial><Say>Thank you for calling. If no one answered/,
    );
  });

  it('warm TwiML: the human hears the whisper (escaped) before the room; both end it on exit', () => {
    const twiml = humanLegTwiml(whisperText('billing', 'Said "<hi>" & left'), 'handoff-1');
    expect(twiml).toContain(
      '<Say>Incoming transfer. Reason: billing. Summary: Said "&lt;hi&gt;" &amp; left</Say>',
    );
    expect(twiml.indexOf('<Say>')).toBeLessThan(twiml.indexOf('<Dial>'));
    expect(twiml).toContain('endConferenceOnExit="true"');
    expect(callerLegTwiml('handoff-1')).toMatch(
      /<Conference [^>]*endConferenceOnExit="true"[^>]*>handoff-1<\/Conference>/,
    );
  });

  it('a long summary is cut to a short whisper; the no-human reason tells the model what to offer', () => {
    expect(whisperText('r', 'x'.repeat(5_000)).length).toBe(600);
    expect(noHumanReason('spanish')).toMatch(/^no-human-available: .*"spanish".*callback/);
  });

  it('webhook signature: HMAC-SHA256 of "<ts>.<body>", different for another secret or body', () => {
    const sig = signWebhook('secret-secret-123', 1_700_000_000, '{"a":1}');
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signWebhook('secret-secret-124', 1_700_000_000, '{"a":1}')).not.toBe(sig);
    expect(signWebhook('secret-secret-123', 1_700_000_000, '{"a":2}')).not.toBe(sig);
  });
});
