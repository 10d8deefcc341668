// Public API of the bench (the CLI is src/cli/main.ts).
export { runSuite, PLANS, type Mode, type SuiteOptions, type SuitePlan } from './suite.js';
export { runLoad, type LoadRunOptions } from './load/load-run.js';
export { runSweep, maxPassing, stopReason, type SweepOptions } from './load/sweep.js';
export { analyseCall, type CallTiming, type CallTimingInput } from './load/call-timing.js';
export { benchScenario, type CallPlan } from './load/scenario.js';
export { runWebhookBench, type WebhookBenchOptions } from './webhook/webhook-bench.js';
export { runEventPathBench, type EventPathOptions } from './events/event-path-bench.js';
export { startStack, type BenchStack, type StackOptions } from './stack/stack.js';
export { writeResults, resultBaseName, type WrittenFiles } from './report/write-results.js';
export { renderMarkdown } from './report/markdown.js';
export { renderChart } from './report/chart.js';
export { headlineRun, rssSlopeKiB, targetRows } from './report/summary.js';
export { summarize, nearestRank, type Percentiles } from './stats/percentiles.js';
export {
  histogramQuantile,
  histogramDelta,
  readHistogram,
  summarizeSecondsHistogram,
  type Histogram,
  type HistogramSummary,
} from './stats/histogram.js';
export { parsePromText, type PromSample } from './stats/prom-text.js';
export { DEFINITIONS } from './definitions.js';
export type * from './results.js';
export {
  runCampaignBench,
  contactNumber,
  BENCH_DIALER_ENV,
  type CampaignBenchOptions,
  type CampaignBenchResult,
} from './campaign/campaign-bench.js';
export { startCampaignStack, type CampaignStack } from './campaign/campaign-stack.js';
export {
  dialsOf,
  maxInWindow,
  maxOverlap,
  paceOf,
  type DialFigures,
  type LoggedCall,
  type PaceFigures,
} from './campaign/campaign-analysis.js';
export {
  renderCampaignMarkdown,
  writeCampaignResults,
  CAMPAIGN_DEFINITIONS,
} from './campaign/campaign-report.js';
export { runSoak, judge, type SoakOptions, type SoakResult } from './soak/soak-run.js';
export { runSoakBench, type SoakBenchOptions } from './soak/soak-bench.js';
export { countCallFrames, type CallFrames, type CallFramesInput } from './soak/frame-ledger.js';
export {
  renderSoakMarkdown,
  writeSoakResults,
  SOAK_DEFINITIONS,
  type SoakReport,
} from './soak/soak-report.js';
