import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { callerUtterances, modelTurnFor, parseScenario } from '../src/scenario.js';

const DIR = join(import.meta.dirname, '..', 'scenarios');

describe('sim example scenarios', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  it('ships examples', () => expect(files.length).toBeGreaterThanOrEqual(2));
  for (const file of files) {
    it(`${file} is valid and every caller turn has a model answer`, () => {
      const scenario = parseScenario(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
      const turns = callerUtterances(scenario);
      expect(turns.length).toBeGreaterThan(0);
      turns.forEach((_, i) => expect(modelTurnFor(scenario.model, i)).toBeDefined());
    });
  }
});
