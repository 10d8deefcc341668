/** The built-in tools' handlers by name (their specs are in `@app/tools`). */
import { type JetStreamClient } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/transport-node';

import { type Names } from '@app/contracts';
import { type PrismaClient } from '@app/db';
import { BuiltinToolName } from '@app/tools';

import { type ToolHandler } from '../domain/tool-context.js';
import { addToDoNotCallTool } from './add-to-do-not-call.js';
import { endCallTool } from './end-call.js';
import { getTimeTool } from './get-time.js';
import { scheduleCallbackTool } from './schedule-callback.js';
import { takeMessageTool } from './take-message.js';
import { transferToHumanTool } from './transfer-to-human.js';

export interface BuiltinDeps {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly names: Names;
  /** The do-not-call list (add_to_do_not_call). */
  readonly prisma: PrismaClient;
  readonly now: () => Date;
  readonly transferMode: 'cold' | 'warm';
  readonly handoffTimeoutMs: number;
}

export function builtinHandlers(deps: BuiltinDeps): ReadonlyMap<string, ToolHandler> {
  const { nc, js, names, now } = deps;
  const handlers: Record<BuiltinToolName, ToolHandler> = {
    [BuiltinToolName.GetTime]: getTimeTool(now),
    [BuiltinToolName.ScheduleCallback]: scheduleCallbackTool({ js, names, now }),
    [BuiltinToolName.EndCall]: endCallTool,
    [BuiltinToolName.TransferToHuman]: transferToHumanTool({
      nc,
      names,
      mode: deps.transferMode,
      timeoutMs: deps.handoffTimeoutMs,
    }),
    [BuiltinToolName.TakeMessage]: takeMessageTool({ js, names }),
    [BuiltinToolName.AddToDoNotCall]: addToDoNotCallTool({ prisma: deps.prisma }),
  };
  return new Map(Object.entries(handlers));
}
