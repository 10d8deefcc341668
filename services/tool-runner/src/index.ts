export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { signHttpToolRequest } from './adapters/http-tool-client.js';
export { ToolErrorCode } from './domain/tool-errors.js';
export type { DestinationPolicyOptions } from './domain/destination-policy.js';
export { CALLBACK_ORIGIN } from './tools/schedule-callback.js';
export {
  DEFAULT_TOOL_RUNNER_SETTINGS,
  startToolRunner,
  type RunningToolRunner,
  type ToolRunnerDeps,
  type ToolRunnerSettings,
} from './tool-runner.js';
