import { describe, expect, it } from 'vitest';

import {
  createCallParams,
  PlacementError,
  sipTwiml,
  type AttemptToPlace,
} from '../src/domain/call-placement.js';

const config = {
  gatewayUrl: 'https://voice.example.com/edge/',
  openaiSipUri: 'sip:proj_123@sip.api.openai.com;transport=tls',
  ringTimeoutSec: 25,
};
const attempt: AttemptToPlace = {
  callId: '6f1d4a52-7c1e-5b8e-9a53-3f0a2c9d8e17',
  to: '+14155550123',
  from: '+14155550100',
  agentId: '0b7c2a1e-3d4f-4a5b-8c6d-7e8f9a0b1c2d',
  transport: 'media-streams',
  amdMode: 'off',
};

describe('campaign-scheduler - call placement', () => {
  it('points a Media Streams call at the gateway with the call and agent ids', () => {
    expect(createCallParams(attempt, config)).toEqual({
      to: '+14155550123',
      from: '+14155550100',
      url: `https://voice.example.com/edge/twilio/outbound?callId=${attempt.callId}&agentId=${attempt.agentId}`,
      method: 'POST',
      statusCallback: 'https://voice.example.com/edge/twilio/status',
      statusCallbackMethod: 'POST',
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      timeout: 25,
    });
  });

  it('asks for answering-machine detection as the agent says', () => {
    expect(createCallParams({ ...attempt, amdMode: 'hangup' }, config).machineDetection).toBe(
      'Enable',
    );
    expect(createCallParams({ ...attempt, amdMode: 'voicemail' }, config).machineDetection).toBe(
      'DetectMessageEnd',
    );
    expect(createCallParams(attempt, config)).not.toHaveProperty('machineDetection');
  });

  it('dials OpenAI over SIP with the agent and call in X- headers for a SIP number', () => {
    const params = createCallParams({ ...attempt, transport: 'sip', amdMode: 'hangup' }, config);
    expect(params.url).toBeUndefined();
    expect(params.machineDetection).toBeUndefined();
    expect(params.twiml).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Sip>sip:proj_123@sip.api.openai.com;transport=tls?X-Agent-Id=${attempt.agentId}&amp;X-Call-Id=${attempt.callId}</Sip></Dial></Response>`,
    );
    expect(sipTwiml('sip:p@h', 'a&b', 'c')).toContain('X-Agent-Id=a%26b&amp;X-Call-Id=c');
  });

  it('refuses a SIP call when OPENAI_SIP_URI is not configured', () => {
    expect(() =>
      createCallParams({ ...attempt, transport: 'sip' }, { ...config, openaiSipUri: undefined }),
    ).toThrow(PlacementError);
  });
});
