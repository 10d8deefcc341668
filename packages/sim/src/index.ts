// Public API of the simulators (see README.md). The Twilio and OpenAI halves are added as they land.
export * from './audio/index.js';
export { startCaller } from './caller/runner.js';
export type { CallerHandle, CallerOptions, CallerTransport, Pacing } from './caller/runner.js';
export { CallRecording, type RecordingEntry } from './recording.js';
export {
  callerUtterances,
  modelTurnFor,
  parseScenario,
  scenarioSchema,
  type CallerStep,
  type ModelScenario,
  type ModelTurn,
  type Scenario,
  type ScenarioInput,
} from './scenario.js';
export { ScenarioBook } from './scenario-book.js';
export type { SipOffer, SipOfferOutcome, SipTrunkTarget } from './sip.js';
