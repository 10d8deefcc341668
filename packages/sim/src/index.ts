// Public API of the simulators (see README.md).
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
export { SIM_DEFAULTS } from './defaults.js';
export { DEFAULT_PHONE_SESSION } from './auto-accept.js';
export { startSimulators, type Simulators, type SimulatorsOptions } from './simulators.js';
export {
  TWILIO_ERRORS,
  TwilioApiError,
  TwilioFaults,
  encodeForm,
  isValidTwilioSignature,
  startTwilioSim,
  twilioSignature,
  type TwilioFaultSettings,
  type TwilioSimHandle,
  type TwilioSimOptions,
} from './twilio/index.js';
export {
  Faults,
  signWebhook,
  startOpenAISim,
  type BadInput,
  type FaultSettings,
  type OpenAISim,
  type OpenAISimOptions,
  type SaidLine,
  type SentEvent,
  type SessionInfo,
} from './openai/index.js';
/** The voices the simulated Realtime API accepts, for a check that our agent validation agrees. */
export { VOICES as SIMULATED_REALTIME_VOICES } from './openai/session-config.js';
