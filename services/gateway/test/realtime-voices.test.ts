/**
 * The gateway's list of Realtime voices (agent validation) and the OpenAI simulator's are kept
 * apart on purpose: the simulator stands in for OpenAI and must not agree with us by importing
 * our list. This test is what keeps them equal: a voice added to one and not the other would
 * let an agent be saved that every simulated call refuses, or the reverse.
 */
import { describe, expect, it } from 'vitest';

import { SIMULATED_REALTIME_VOICES } from '@app/sim';

import { REALTIME_VOICES } from '../src/domain/agent-input.js';

describe('Realtime voices', () => {
  it('are the same list in agent validation and in the OpenAI simulator', () => {
    expect([...REALTIME_VOICES].sort()).toEqual([...SIMULATED_REALTIME_VOICES].sort());
    expect(REALTIME_VOICES.length).toBeGreaterThan(5);
  });
});
