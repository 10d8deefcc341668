import { SIM_DEFAULTS } from '../defaults.js';
import { startSimulators } from '../simulators.js';

function portArg(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`--${name} must be a port number 0-65535, got "${value}"`);
  }
  return port;
}

export async function runStartCommand(values: {
  host?: string;
  'twilio-port'?: string;
  'openai-port'?: string;
  'openai-tls-port'?: string;
  'control-port'?: string;
  pacing?: string;
  'webhook-url'?: string;
  'voice-url'?: string;
}): Promise<number> {
  const pacing = values.pacing ?? 'realtime';
  if (pacing !== 'realtime' && pacing !== 'fast') {
    throw new RangeError(`--pacing must be realtime or fast, got "${pacing}"`);
  }
  const sims = await startSimulators({
    host: values.host ?? SIM_DEFAULTS.host,
    ports: {
      twilio: portArg(values['twilio-port'], SIM_DEFAULTS.ports.twilio, 'twilio-port'),
      openai: portArg(values['openai-port'], SIM_DEFAULTS.ports.openai, 'openai-port'),
      openaiTls: portArg(
        values['openai-tls-port'],
        SIM_DEFAULTS.ports.openaiTls,
        'openai-tls-port',
      ),
      control: portArg(values['control-port'], SIM_DEFAULTS.ports.control, 'control-port'),
    },
    pacing,
    ...(values['webhook-url'] ? { webhookUrl: values['webhook-url'] } : {}),
    ...(values['voice-url'] ? { voiceUrl: values['voice-url'] } : {}),
  });
  const lines = [
    `twilio simulator   ${sims.twilioUrl}   (account ${sims.credentials.twilio.accountSid})`,
    `openai simulator   ${sims.openaiHttpUrl}/v1   ws ${sims.openaiWsUrl}   wss ${sims.openaiWssUrl}`,
    `control API        ${sims.controlUrl}/sim/calls`,
    `numbers            media streams ${SIM_DEFAULTS.numbers.mediaStreams} -> ${sims.voiceUrl}`,
    `                   sip           ${SIM_DEFAULTS.numbers.sip} -> OpenAI SIP -> webhook ${sims.webhookUrl}`,
    `place a call:      pnpm sim call --scenario book-table --to ${SIM_DEFAULTS.numbers.sip}`,
  ];
  process.stdout.write(`${lines.map((l) => `sim | ${l}`).join('\n')}\n`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  await sims.close();
  return 0;
}
