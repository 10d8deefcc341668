/**
 * What an answered outbound call gets, from Twilio's answering-machine detection (twilio.md
 * §1.5) and the agent's setting (`agents.amd_mode`). Pure rules, so they are tested alone.
 *
 * The dialer asks Twilio for `MachineDetection=Enable` when the agent hangs up on machines and
 * `DetectMessageEnd` when it leaves a voicemail. Sync AMD puts the result in `AnsweredBy` on
 * the TwiML request: with `Enable` a machine is `machine_start`, reported as soon as it is
 * recognised, while its greeting still plays; with `DetectMessageEnd` Twilio waits for the end
 * of the greeting (the beep, or silence) and reports `machine_end_beep`, `machine_end_silence`
 * or `machine_end_other` (https://www.twilio.com/docs/voice/answering-machine-detection, the
 * `MachineDetection` parameter; the simulator behaves the same).
 */
import type { AmdMode } from '@app/db';

/** The `AnsweredBy` values that mean nobody is there to talk to the agent. */
export const MACHINE_ANSWERS: ReadonlySet<string> = new Set([
  'machine_start',
  'machine_end_beep',
  'machine_end_silence',
  'machine_end_other',
  'fax',
]);

/** An agent's answering-machine settings. */
export interface AnsweringMachineSettings {
  /** `agents.amd_mode`: `off`, `hangup` or `voicemail`. */
  amdMode: AmdMode;
  /** What to say on a voicemail; null = nothing (the call is hung up). */
  voicemailMessage: string | null;
}

/** Why a machine was hung up on without a message. */
export type SilentHangupReason =
  /** The agent's setting is `hangup`. */
  | 'amd-hangup'
  /** A fax records no speech. */
  | 'fax'
  /**
   * `machine_start` on a `voicemail` agent: the call was placed with `Enable` (the setting
   * changed after dialing), the greeting is still playing and nobody knows when the beep
   * comes; a message said now would be cut, so none is left.
   */
  | 'greeting-not-over'
  /** `voicemail` with no (or a blank) `voicemail_message`. */
  | 'no-voicemail-message';

export type OutboundAnswer =
  /** A person (or AMD could not tell, or did not run): the agent takes the call. */
  | { kind: 'connect' }
  | { kind: 'hangup'; reason: SilentHangupReason }
  | { kind: 'voicemail'; message: string };

/**
 * The answer to an outbound call's TwiML request.
 * @param answeredBy - Twilio's `AnsweredBy`; undefined when AMD did not run.
 */
export function outboundAnswer(
  answeredBy: string | undefined,
  agent: AnsweringMachineSettings,
): OutboundAnswer {
  // `human`, `unknown` (AMD timed out) and no AMD at all go to the agent, who can still tell.
  if (answeredBy === undefined || !MACHINE_ANSWERS.has(answeredBy)) return { kind: 'connect' };
  switch (agent.amdMode) {
    case 'off':
      return { kind: 'connect' };
    case 'hangup':
      return { kind: 'hangup', reason: 'amd-hangup' };
    case 'voicemail': {
      if (answeredBy === 'fax') return { kind: 'hangup', reason: 'fax' };
      if (answeredBy === 'machine_start') return { kind: 'hangup', reason: 'greeting-not-over' };
      const message = agent.voicemailMessage?.trim() ?? '';
      return message === ''
        ? { kind: 'hangup', reason: 'no-voicemail-message' }
        : { kind: 'voicemail', message };
    }
  }
}
