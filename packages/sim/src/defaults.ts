/**
 * The simulators' built-in identity, so `pnpm sim` and `pnpm dev` work with no setup. None of
 * these is a real credential: they are accepted only by the local simulators.
 */
export const SIM_DEFAULTS = {
  host: '127.0.0.1',
  ports: { twilio: 3010, openai: 3011, openaiTls: 3012, control: 3013 },
  twilio: {
    accountSid: 'AC00000000000000000000000000000000',
    authToken: 'simulated-twilio-auth-token-0000',
    apiKeySid: 'SK00000000000000000000000000000000',
    apiKeySecret: 'simulated-twilio-api-key-secret00',
  },
  openai: {
    apiKey: 'sk-sim-local-0000000000000000',
    // Standard Webhooks secret: `whsec_` + base64 of the HMAC key bytes.
    webhookSecret: `whsec_${Buffer.from('simulated-openai-webhook-secret!').toString('base64')}`,
  },
  numbers: {
    /** Our agent's number over Media Streams: Twilio posts the voice webhook to the gateway. */
    mediaStreams: '+15555550100',
    /** Our agent's number over SIP: Twilio's trunk sends it to OpenAI, which sends a webhook. */
    sip: '+15555550199',
    /** Who the simulated caller is. */
    caller: '+15555550142',
  },
} as const;
