/**
 * end_call: the call-bridge ends the call once the goodbye in the current response has played
 * (hanging up here would cut it off), so the tool only acknowledges.
 */
import { type ToolHandler } from '../domain/tool-context.js';

export const endCallTool: ToolHandler = () => Promise.resolve({ ending: true });
