/**
 * The call path for a fault test: the Twilio/OpenAI simulators, a gateway and a call-bridge as
 * child processes, pointed at the NATS and PostgreSQL the test gives (its private, breakable
 * ones: see private-servers.ts), and one agent answering {@link NUMBER}.
 *
 * Unlike `test/services/system-stack.ts` it takes the NATS URL, and it has no prefix to clean
 * up: the private server goes away with the test.
 */
import { createPrismaClient, type PrismaClient } from '@app/db';
import { parseScenario, startSimulators, type Simulators } from '@app/sim';

import {
  freePort,
  spawnService,
  waitForOk,
  type ServiceProcess,
} from '../services/service-process.js';

/** The simulator's Media Streams number (SIM_DEFAULTS), routed to the test agent. */
export const NUMBER = '+15555550100';
export const CALLER = '+15555550142';
const SECRET = 'fault-tests-stream-token-secret-00000000';

/** The agent's lines of {@link threeTurnCall}. */
export const GREETING = 'Hello, thanks for calling. How can I help?';
export const REPLY_1 = 'We open at nine in the morning.';
export const REPLY_2 = 'Yes, we take all major cards.';
export const REPLY_3 = 'You are welcome, goodbye!';
const QUESTIONS = [
  'What time do you open tomorrow?',
  'Do you take card payments?',
  'Great, thank you.',
] as const;

/**
 * The conversation each fault test holds: a greeting and three turns. The test makes its fault
 * once the second answer was said; the caller then waits `pauseMs` (the fault ends within it)
 * before the third turn, so one turn falls in the fault and one after it.
 */
export function threeTurnCall(name: string, pauseMs: number) {
  const wait = { waitForAgent: { quietMs: 700, timeoutMs: 20_000 } };
  return parseScenario({
    name,
    caller: {
      steps: [
        wait,
        { say: QUESTIONS[0] },
        wait,
        { pauseMs: 500 },
        { say: QUESTIONS[1] },
        wait,
        { pauseMs },
        { say: QUESTIONS[2] },
        wait,
        { hangup: true },
      ],
    },
    model: { greeting: GREETING, turns: [{ say: REPLY_1 }, { say: REPLY_2 }, { say: REPLY_3 }] },
  });
}

/** The record of a whole {@link threeTurnCall}: `[role, text, sequence]` per transcript turn. */
export const THREE_TURN_TRANSCRIPT: ReadonlyArray<[string, string, number]> = [
  ['assistant', GREETING, 0],
  ['user', QUESTIONS[0], 1],
  ['assistant', REPLY_1, 2],
  ['user', QUESTIONS[1], 3],
  ['assistant', REPLY_2, 4],
  ['user', QUESTIONS[2], 5],
  ['assistant', REPLY_3, 6],
];

export interface FaultStackOptions {
  natsUrl: string;
  /** What the services use (may go through a cuttable proxy). */
  databaseUrl: string;
  /** What the test reads the records with (direct, so it can look during an outage). */
  testDatabaseUrl: string;
  /** Extra variables of the call-bridge. */
  bridgeEnv?: Record<string, string>;
}

export interface FaultStack {
  sims: Simulators;
  prisma: PrismaClient;
  gateway: ServiceProcess;
  bridge: ServiceProcess;
  bridgeUrl: string;
  gatewayUrl: string;
  /** The agent lines the simulated model has finished saying, over every session. */
  agentSaid(): string[];
  /** The last lines of each service, for a failure message. */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * An eager owner sweeper (the defaults are 10 s, 30 s and 15 s): an outage longer than the
 * staleness, and a record that catches up later than it, must not make it end a call.
 */
export const EAGER_SWEEPER_ENV: Readonly<Record<string, string>> = {
  CALL_OWNER_HEARTBEAT_MS: '500',
  OWNER_STALE_AFTER_MS: '2000',
  OWNER_SWEEP_INTERVAL_MS: '300',
};

export async function startFaultStack(opts: FaultStackOptions): Promise<FaultStack> {
  const prisma = createPrismaClient({ databaseUrl: opts.testDatabaseUrl });
  const agent = await prisma.agent.create({
    data: { name: 'front desk', instructions: 'Be brief.' },
  });
  await prisma.phoneNumber.create({ data: { e164: NUMBER, agentId: agent.id } });
  const [gatewayPort, bridgePort] = [await freePort(), await freePort()];
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const sims = await startSimulators({
    voiceUrl: `${gatewayUrl}/twilio/voice`,
    statusCallbackUrl: `${gatewayUrl}/twilio/status`,
  });
  const common = {
    DATABASE_URL: opts.databaseUrl,
    NATS_URL: opts.natsUrl,
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    STREAM_TOKEN_SECRET: SECRET,
    TWILIO_ACCOUNT_SID: sims.credentials.twilio.accountSid,
    TWILIO_AUTH_TOKEN: sims.credentials.twilio.authToken,
    TWILIO_API_BASE_URL: sims.twilioUrl,
    OPENAI_API_KEY: sims.credentials.openai.apiKey,
    OPENAI_BASE_URL: `${sims.openaiHttpUrl}/v1`,
  };
  const gateway = spawnService('gateway', {
    ...common,
    HTTP_PORT: String(gatewayPort),
    POD_NAME: 'gateway-0',
    PUBLIC_BASE_URL: gatewayUrl,
    CALL_BRIDGE_MEDIA_URL: `ws://127.0.0.1:${bridgePort}/media`,
  });
  const bridge = spawnService('call-bridge', {
    ...common,
    HTTP_PORT: String(bridgePort),
    POD_NAME: 'bridge-0',
    OPENAI_REALTIME_URL: sims.openaiWssUrl,
    OPENAI_REALTIME_CA: sims.tlsCertPem,
    ...opts.bridgeEnv,
  });
  const procs = [
    { name: 'gateway', proc: gateway },
    { name: 'call-bridge', proc: bridge },
  ];
  const stop = async () => {
    await Promise.all(
      procs.map(async ({ proc }) => {
        proc.child.kill('SIGTERM');
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
        await proc.exited;
        clearTimeout(timer);
      }),
    );
    await sims.close();
    await prisma.$disconnect();
  };
  const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
  try {
    await Promise.all([
      waitForOk(`${gatewayUrl}/readyz`, gateway, 60_000),
      waitForOk(`${bridgeUrl}/readyz`, bridge, 60_000),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    sims,
    prisma,
    gateway,
    bridge,
    bridgeUrl,
    gatewayUrl,
    agentSaid: () =>
      sims.openai
        .sessions()
        .flatMap((s) => s.said)
        .filter((l) => l.role === 'agent')
        .map((l) => l.text),
    logs: (lines = 30) =>
      procs
        .map(
          ({ name, proc }) =>
            `--- ${name}\n${[...proc.stderr, ...proc.stdout].slice(-lines).join('\n')}`,
        )
        .join('\n'),
    stop,
  };
}
