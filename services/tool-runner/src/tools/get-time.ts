/**
 * get_time: the current time in a given IANA zone, else in the caller's zone (from their number,
 * when the number's prefix maps to exactly one zone), else in UTC, saying which it used so the
 * model can ask the caller where they are.
 */
import { z } from 'zod';

import { timeZoneOf } from '@app/dialing';

import { isKnownTimeZone, localTime } from '../domain/local-time.js';
import { type ToolHandler } from '../domain/tool-context.js';
import { ToolErrorCode, ToolFailure } from '../domain/tool-errors.js';

const argsSchema = z.object({ timeZone: z.string().optional() });

export function getTimeTool(now: () => Date): ToolHandler {
  return (raw, ctx) => {
    const { timeZone } = argsSchema.parse(raw);
    let zone: string;
    let source: 'given' | 'caller-number' | 'default';
    if (timeZone !== undefined) {
      if (!isKnownTimeZone(timeZone)) {
        throw new ToolFailure(
          ToolErrorCode.InvalidArgs,
          `unknown time zone "${timeZone}": use an IANA name such as Europe/Paris or America/New_York`,
        );
      }
      zone = timeZone;
      source = 'given';
    } else {
      const fromNumber = ctx.call ? timeZoneOf(ctx.call.callerNumber) : null;
      zone = fromNumber ?? 'UTC';
      source = fromNumber ? 'caller-number' : 'default';
    }
    const t = localTime(now(), zone);
    return Promise.resolve({
      timeZone: t.timeZone,
      zoneSource: source,
      localTime: t.iso,
      spoken: t.spoken,
      utcOffset: t.utcOffset,
      ...(source === 'default'
        ? {
            note: "The caller's time zone is unknown; this is UTC. Ask where they are if it matters.",
          }
        : {}),
    });
  };
}
