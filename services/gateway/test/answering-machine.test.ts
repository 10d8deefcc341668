import { describe, expect, it } from 'vitest';

import { outboundAnswer } from '../src/domain/answering-machine.js';

const off = { amdMode: 'off', voicemailMessage: null } as const;
const hangup = { amdMode: 'hangup', voicemailMessage: null } as const;
const voicemail = { amdMode: 'voicemail', voicemailMessage: '  Please call us back.  ' } as const;

describe('gateway - answering-machine rules', () => {
  it('connects a person, an undecided AMD and a call without AMD to the agent, whatever the setting', () => {
    for (const agent of [off, hangup, voicemail]) {
      for (const answeredBy of ['human', 'unknown', undefined, 'something_new']) {
        expect(outboundAnswer(answeredBy, agent)).toEqual({ kind: 'connect' });
      }
    }
  });

  it('hangs up on every machine and fax result when the agent hangs up on machines', () => {
    for (const answeredBy of [
      'machine_start',
      'machine_end_beep',
      'machine_end_silence',
      'machine_end_other',
      'fax',
    ]) {
      expect(outboundAnswer(answeredBy, hangup)).toEqual({ kind: 'hangup', reason: 'amd-hangup' });
    }
  });

  it('leaves the voicemail (trimmed) once the greeting is over', () => {
    for (const answeredBy of ['machine_end_beep', 'machine_end_silence', 'machine_end_other']) {
      expect(outboundAnswer(answeredBy, voicemail)).toEqual({
        kind: 'voicemail',
        message: 'Please call us back.',
      });
    }
  });

  it('leaves no voicemail while the greeting still plays, on a fax, or without a message', () => {
    expect(outboundAnswer('machine_start', voicemail)).toEqual({
      kind: 'hangup',
      reason: 'greeting-not-over',
    });
    expect(outboundAnswer('fax', voicemail)).toEqual({ kind: 'hangup', reason: 'fax' });
    for (const voicemailMessage of [null, '', '   ']) {
      expect(
        outboundAnswer('machine_end_beep', { amdMode: 'voicemail', voicemailMessage }),
      ).toEqual({ kind: 'hangup', reason: 'no-voicemail-message' });
    }
  });

  it('connects a machine to the agent when the agent does not use detection', () => {
    expect(outboundAnswer('machine_end_beep', off)).toEqual({ kind: 'connect' });
  });
});
