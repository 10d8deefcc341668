/** What the caller hears (through Twilio's `<Say>`) when the voice model is lost for good. */
export const DEFAULT_APOLOGY =
  'We are sorry, we are having technical difficulties and cannot continue this call. Please call again later. Goodbye.';
