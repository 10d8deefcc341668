/** Scenarios several integration tests play, over Media Streams and over SIP alike. */

/** Greeting, two caller questions, two answers, then the caller hangs up. */
export const openingHoursJson = {
  name: 'opening-hours',
  caller: {
    steps: [
      { waitForAgent: { quietMs: 700, timeoutMs: 10_000 } },
      { say: 'What time do you open tomorrow?' },
      { waitForAgent: { quietMs: 700, timeoutMs: 15_000 } },
      { say: 'Great, thank you.' },
      { waitForAgent: { quietMs: 700, timeoutMs: 15_000 } },
      { hangup: true },
    ],
  },
  model: {
    greeting: 'Hello, thanks for calling. How can I help?',
    turns: [{ say: 'We open at nine in the morning.' }, { say: 'You are welcome, goodbye!' }],
  },
};
