/** The bridge's Prometheus metrics, registered on the service's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface BridgeMetrics {
  liveCalls: Gauge;
  frames: Counter<'direction'>;
  bargeInReaction: Histogram;
}

export function createBridgeMetrics(registry: Registry): BridgeMetrics {
  return {
    liveCalls: new Gauge({
      name: 'call_bridge_live_calls',
      help: 'Media Streams calls bridged by this pod right now',
      registers: [registry],
    }),
    frames: new Counter({
      name: 'call_bridge_media_frames_total',
      help: 'Audio frames forwarded, by direction',
      labelNames: ['direction'],
      registers: [registry],
    }),
    bargeInReaction: new Histogram({
      name: 'call_bridge_barge_in_reaction_seconds',
      help: 'From speech_started to Twilio clear sent',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
  };
}
