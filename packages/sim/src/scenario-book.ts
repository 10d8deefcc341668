import type { Scenario } from './scenario.js';

/**
 * Scenarios of the calls in progress, by run id. The simulated caller announces its run id in
 * band (audio/tags.ts), so the OpenAI simulator finds the scenario of a session it only hears.
 * Both simulators share one book when started together (`startSimulators`).
 */
export class ScenarioBook {
  readonly #byRun = new Map<number, Scenario>();
  #next = 1;

  /** Stores a scenario and returns its run id (a small positive integer, unique in this book). */
  register(scenario: Scenario): number {
    const runId = this.#next++;
    this.#byRun.set(runId, scenario);
    return runId;
  }

  get(runId: number): Scenario | undefined {
    return this.#byRun.get(runId);
  }

  /** Forgets a finished run (long load runs would otherwise keep every scenario). */
  release(runId: number): void {
    this.#byRun.delete(runId);
  }
}
