/**
 * Test helper: telemetry started as services start it, with every finished span kept in memory,
 * so a test asserts on the spans real code made (their trace ids, parents and scopes).
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

import { createLogger } from './logger.js';
import { startTelemetry } from './telemetry.js';

export interface CapturedSpans {
  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Stops telemetry and removes its globals. */
  stop(): Promise<void>;
}

/** Starts this process's telemetry with an in-memory exporter (one per process at a time). */
export async function captureSpans(serviceName = 'test'): Promise<CapturedSpans> {
  const exporter = new InMemorySpanExporter();
  const telemetry = await startTelemetry({
    serviceName,
    serviceVersion: '0.0.0',
    log: createLogger({ service: serviceName, version: '0.0.0', level: 'silent' }),
    traceExporter: exporter,
  });
  return {
    spans: () => exporter.getFinishedSpans(),
    stop: () => telemetry.shutdown(),
  };
}

export type { ReadableSpan };
