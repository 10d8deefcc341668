export { configSchema, loadConfig } from './config.js';
export type { Config } from './config.js';
