/**
 * Reads a server-sent event stream (text/event-stream, the WHATWG format) from a fetch body, on the global
 * TextDecoder alone so `zkml/client` runs in Node, browsers and workers: yields each event's name and data once
 * its blank line arrives; comment lines (the server's keep-alives) and unknown fields are skipped.
 */
export interface ServerEvent {
  event: string;
  data: string;
}

export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + (buffered.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (data.length) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
