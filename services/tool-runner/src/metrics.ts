/**
 * The tool-runner's Prometheus metrics, on the service's registry (served on `/metrics` by
 * `@app/platform`). `tool` is the tool's name for known tools and `unknown` otherwise, so a
 * model inventing names cannot grow the label set.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ToolMetrics {
  /** Invocations by tool and outcome (`ok` or the error code). */
  invocations: Counter<'tool' | 'outcome'>;
  /** Invocation time from receipt to reply, by tool and outcome. */
  duration: Histogram<'tool' | 'outcome'>;
  /** Failed invocations by tool and error code (a subset of `invocations`, for alerting). */
  errors: Counter<'tool' | 'code'>;
}

export function createToolMetrics(registry: Registry): ToolMetrics {
  return {
    invocations: new Counter({
      name: 'tool_runner_invocations_total',
      help: 'Tool invocations answered, by tool and outcome (ok or error code)',
      labelNames: ['tool', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'tool_runner_invocation_duration_seconds',
      help: 'Tool invocation time from request to reply, by tool and outcome',
      labelNames: ['tool', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'tool_runner_errors_total',
      help: 'Failed tool invocations, by tool and error code',
      labelNames: ['tool', 'code'],
      registers: [registry],
    }),
  };
}
