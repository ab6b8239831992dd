import { EventSource } from 'eventsource';
import { createParser, EventSourceMessage } from 'eventsource-parser';

/** One received Server-Sent Event, with the client's receipt time. */
export interface ReceivedEvent {
  id: string | undefined;
  event: string;
  data: string;
  atMs: number;
}

/** A job's event stream through the `eventsource` package (the WHATWG EventSource), with an API key. */
export function openEventSource(url: string, key: string, lastEventId?: string): EventSource {
  return new EventSource(url, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...init.headers, 'x-api-key': key, ...(lastEventId && { 'Last-Event-ID': lastEventId }) },
      }),
  });
}

/** Every event of `source` until its `end` event (then closed: EventSource would reconnect otherwise). */
export function eventsUntilEnd(
  source: EventSource,
  onEvent?: (event: ReceivedEvent) => void,
): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  return new Promise((resolve, reject) => {
    for (const type of ['status', 'stdout', 'stderr', 'end']) {
      source.addEventListener(type, (message: { data: string; lastEventId: string }) => {
        const event = { id: message.lastEventId, event: type, data: message.data, atMs: Date.now() };
        events.push(event);
        onEvent?.(event);
        if (type === 'end') {
          source.close();
          resolve(events);
        }
      });
    }
    source.onerror = (error) => {
      source.close();
      reject(new Error(`event stream failed: ${error.message ?? error.code ?? 'error'} after ${events.length} events`));
    };
  });
}

/** POST with Accept: text/event-stream, read with `eventsource-parser`; resolves at the end of the response. */
export async function postEventStream(
  url: string,
  key: string,
  body: object,
  onEvent?: (event: ReceivedEvent) => void,
): Promise<{ status: number; contentType: string | null; events: ReceivedEvent[]; text?: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  const contentType = response.headers.get('content-type');
  if (!contentType?.startsWith('text/event-stream')) {
    return { status: response.status, contentType, events: [], text: await response.text() };
  }
  const events: ReceivedEvent[] = [];
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      const event = { id: message.id, event: message.event ?? 'message', data: message.data, atMs: Date.now() };
      events.push(event);
      onEvent?.(event);
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
  return { status: response.status, contentType, events };
}
