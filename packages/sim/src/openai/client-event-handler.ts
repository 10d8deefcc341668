/**
 * What the server does with each client event (openai-realtime.md §3). Throws
 * {@link ClientEventError} for anything the real API refuses; the session turns that into an
 * `error` event echoing the client's `event_id` and carries on.
 */
import {
  parseClientEvent,
  parseItem,
  requireString,
  responseParamsSchema,
  truncateSchema,
} from './client-events.js';
import { wireItem, type ConversationItem } from './conversation.js';
import { ClientEventError, ERROR_CODE, newId } from './errors.js';
import type { RealtimeSession } from './realtime-session.js';
import { mergeSessionConfig, parseSessionUpdate } from './session-config.js';
import { parseStrict } from './validation.js';

/** Max decoded audio per append (§3: ≤15 MiB). */
const MAX_APPEND_BYTES = 15 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function handleClientEvent(s: RealtimeSession, text: string): void {
  const { type, eventId, body } = parseClientEvent(text);
  switch (type) {
    case 'session.update': {
      if (body.session === undefined) {
        throw new ClientEventError(
          ERROR_CODE.missingRequiredParameter,
          "Missing required parameter: 'session'.",
          'session',
        );
      }
      const next = mergeSessionConfig(s.config, parseSessionUpdate(body.session));
      if (
        s.spokeOnce &&
        JSON.stringify(next.audio.output.voice) !== JSON.stringify(s.config.audio.output.voice)
      ) {
        // Voice is fixed once the model has produced audio (§2); the code is UNCONFIRMED (§9).
        throw new ClientEventError(
          'cannot_update_voice',
          "Cannot update a conversation's voice if assistant audio is present.",
          'session.audio.output.voice',
        );
      }
      const tdChanged =
        JSON.stringify(next.audio.input.turn_detection) !==
        JSON.stringify(s.config.audio.input.turn_detection);
      s.config = next;
      if (tdChanged) s.input.configure(next.audio.input.turn_detection);
      s.emit({ type: 'session.updated', session: s.wireSession() });
      return;
    }
    case 'input_audio_buffer.append': {
      const audio = requireString(body, 'audio');
      if (!BASE64.test(audio) || audio.length % 4 === 1) {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          "Invalid value for 'audio': expected base64-encoded audio.",
          'audio',
        );
      }
      const bytes = Buffer.from(audio, 'base64');
      if (bytes.length > MAX_APPEND_BYTES) {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          'Audio chunk exceeds the maximum of 15 MiB.',
          'audio',
        );
      }
      if (s.kind === 'sip') {
        // On SIP calls the audio travels over RTP (§6.5); appends on the sideband are ignored
        // (whether the real API rejects them is UNCONFIRMED) but recorded as bad input.
        s.recordBadInput(
          'audio_for_nothing',
          null,
          'input_audio_buffer.append on a SIP call sideband',
          type,
        );
        return;
      }
      s.turns.audioIn(s.config.audio.input.format, bytes);
      return;
    }
    case 'input_audio_buffer.commit':
      s.turns.commit(undefined, true);
      return;
    case 'input_audio_buffer.clear':
      s.input.reset();
      s.emit({ type: 'input_audio_buffer.cleared' });
      return;
    case 'conversation.item.create': {
      if (body.item === undefined) {
        throw new ClientEventError(
          ERROR_CODE.missingRequiredParameter,
          "Missing required parameter: 'item'.",
          'item',
        );
      }
      const input = parseItem(body.item);
      if (input.type === 'function_call_output' && !s.conversation.functionCall(input.call_id)) {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          `Tool call ID '${input.call_id}' not found in conversation.`,
          'item.call_id',
        );
      }
      const id = input.id ?? newId('item');
      if (s.conversation.get(id)) {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          `Item with id '${id}' already exists.`,
          'item.id',
        );
      }
      const { object: _object, ...rest } = input;
      const item = { ...rest, id, status: 'completed' } as ConversationItem;
      const prev = body.previous_item_id;
      if (prev !== undefined && prev !== null && typeof prev !== 'string') {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          "Invalid type for 'previous_item_id'.",
          'previous_item_id',
        );
      }
      const previous = s.conversation.add(item, prev);
      s.emit({ type: 'conversation.item.added', previous_item_id: previous, item: wireItem(item) });
      s.emit({ type: 'conversation.item.done', previous_item_id: previous, item: wireItem(item) });
      // Only the output of a call this session's model made is awaited. A call the client
      // created is history (a bridge replaying the call into a new session), and so are user
      // text messages: the next response.create reads them off the conversation
      // (scenario-model.ts cueFromConversation), not off a queue a replay would fill.
      if (input.type === 'function_call') s.replayedCalls.add(input.call_id);
      if (input.type === 'function_call_output' && !s.replayedCalls.has(input.call_id)) {
        s.cues.push({
          kind: 'tool-output',
          callId: input.call_id,
          index: s.toolCalls.get(input.call_id),
          output: input.output,
        });
      }
      return;
    }
    case 'conversation.item.truncate': {
      const t = parseStrict(truncateSchema, body, 'event');
      s.conversation.truncate(t.item_id, t.content_index, t.audio_end_ms);
      s.emit({
        type: 'conversation.item.truncated',
        item_id: t.item_id,
        content_index: t.content_index,
        audio_end_ms: t.audio_end_ms,
      });
      return;
    }
    case 'conversation.item.delete': {
      const itemId = requireString(body, 'item_id');
      if (!s.conversation.delete(itemId)) {
        throw new ClientEventError(
          ERROR_CODE.itemNotFound,
          `Item with item_id '${itemId}' not found.`,
          'item_id',
        );
      }
      s.emit({ type: 'conversation.item.deleted', item_id: itemId });
      return;
    }
    case 'conversation.item.retrieve': {
      const itemId = requireString(body, 'item_id');
      const item = s.conversation.get(itemId);
      if (!item)
        throw new ClientEventError(
          ERROR_CODE.itemNotFound,
          `Item with item_id '${itemId}' not found.`,
          'item_id',
        );
      s.emit({ type: 'conversation.item.retrieved', item: wireItem(item) });
      return;
    }
    case 'response.create': {
      const params =
        body.response === undefined
          ? undefined
          : parseStrict(responseParamsSchema, body.response, 'response');
      s.turns.requestResponse(params, eventId);
      return;
    }
    case 'response.cancel': {
      const wanted = body.response_id;
      if (!s.active || (typeof wanted === 'string' && wanted !== s.active.id)) {
        throw new ClientEventError(
          ERROR_CODE.cancelNotActive,
          'Cancellation failed: no active response found',
        );
      }
      s.turns.interrupt('client_cancelled');
      return;
    }
    case 'output_audio_buffer.clear': {
      if (!s.audioOut) {
        throw new ClientEventError(
          ERROR_CODE.invalidValue,
          'output_audio_buffer.clear is only supported for WebRTC and SIP sessions.',
          'type',
        );
      }
      s.audioOut.clear();
      s.emit({ type: 'output_audio_buffer.cleared', response_id: s.active?.id ?? null });
      return;
    }
  }
}
