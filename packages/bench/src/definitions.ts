/** What each reported figure means, written into every result file and report. */
export const DEFINITIONS: Record<string, string> = {
  'added forwarding latency':
    "the bridge's own histogram `call_bridge_forward_latency_seconds{direction}`: from the bridge's " +
    'WebSocket message handler starting on a frame to that frame being handed to the other socket. ' +
    'Time the frame waited in a socket buffer or behind a busy event loop is not in it (see end-to-end). ' +
    'Percentiles are interpolated linearly within buckets; a histogram only bounds the max (≤ bucket bound).',
  'end-to-end latency':
    'measured by the two simulators on one clock across both sockets and both event loops. Model→caller: ' +
    "from the OpenAI simulator writing a 100 ms audio delta to each of its 20 ms frames reaching the Twilio simulator's " +
    "caller. Caller→model: from the caller sending the frame that the simulator's VAD detects as speech onset " +
    'to the simulator writing `speech_started` (one sample per utterance).',
  'late frame':
    'an agent frame (or an utterance onset) whose end-to-end latency exceeds 20 ms, one frame: at real-time ' +
    'pacing it plays after its slot, an audible gap. Stalls of the load generator’s own event loop inside that ' +
    'span are subtracted first (they are the generator’s lateness); the raw count, without subtracting, is in parentheses. ' +
    'The criterion counts the steady-state window (every call live): while calls are being placed, the generator’s own ' +
    'per-call set-up (speech synthesis for both simulators, webhooks) keeps its loop busy in bursts of short tasks that the ' +
    'stall timeline cannot separate; whole-run counts are reported beside it.',
  'criteria of the sweep':
    'a run passes when p99 added forwarding latency is under 20 ms in both directions, so is the bridge’s event-loop ' +
    'delay p99 (a frame arriving while the loop is busy waits that long before the histogram’s clock starts), no frame ' +
    'is late and none was dropped (`call_bridge_media_frames_dropped_total`). The issue’s 5 ms target is read the same way.',
  'generator-limited':
    'the load generator (both simulators, in the bench process, on its own core) could not keep real-time pace: its ' +
    'event-loop delay p99 exceeded 10 ms, its callers sent under 97 % of their real-time frames while it used over ' +
    '90 % of its core, or its own stalls made frames late in the window. Latencies of such a run include the ' +
    'generator’s; CPU per call still is the bridge’s alone.',
  'CPU-seconds per call-minute':
    'user + system CPU time of the bridge process (/proc/<pid>/stat, all threads) over the steady-state window, ' +
    'divided by live calls × window minutes. It does not depend on how fast the load generator is.',
  'RSS per call':
    'bridge resident memory (/proc/<pid>/status VmRSS): per run, mean RSS in the window less idle RSS, per live call; ' +
    'headline, the least-squares slope of RSS against live calls across runs (GC noise dominates small N).',
  'event-loop delay':
    'perf_hooks monitorEventLoopDelay at 10 ms resolution (for the bridge, prom-client’s `nodejs_eventloop_lag_*` ' +
    'gauges, reset at each scrape), less the 10 ms sampling interval that Node includes in each value.',
  'barge-in reaction':
    'bridge: `call_bridge_barge_in_reaction_seconds` (speech_started handler start to Twilio `clear` handed to the ' +
    'socket) and `call_bridge_barge_in_truncate_seconds` (to `conversation.item.truncate`, sent right after the clear ' +
    'in the same tick). End to end: the simulator writing `speech_started` to the caller receiving `clear`, and to the ' +
    'simulator writing `conversation.item.truncated`.',
  'call set-up':
    'voice webhook arriving at the gateway to the first `session.update` sent by the bridge (`calls.setup_ms`, per call); ' +
    'webhook rung by the Twilio simulator to the caller’s first agent audio; first-audio overhead is the latter less ' +
    "the simulated model's own time to first audio (session.updated to first delta: it holds the greeting until it " +
    'hears the caller’s in-band run tag, as a real model takes time to answer). Its parts, from the bridge’s ' +
    '`call_bridge_setup_stage_seconds`: webhook to the stream’s `start` reaching the bridge (gateway, TwiML, the ' +
    'Twilio simulator dialling the bridge), the agent’s settings loaded from PostgreSQL, and the OpenAI socket opened ' +
    '(TCP, TLS and the WebSocket upgrade to the simulator).',
  'webhook throughput':
    'signed voice webhooks per second a gateway answers (each a new call: signature, agent lookup, JetStream publish, ' +
    'TwiML; projection into PostgreSQL runs meanwhile) at a given number of concurrent keep-alive clients.',
  'NATS event path':
    'a call event published to JetStream until its `call_events` row is visible in PostgreSQL, written by the ' +
    "gateway's call-record projector (one event at a time, in stream order).",
};
