export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
export { LiveCalls } from './domain/live-calls.js';
export type { DrainResult, LiveCall } from './domain/live-calls.js';
