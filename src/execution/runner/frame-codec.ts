/** Length-prefixed JSON frames: a 4-byte big-endian length, then UTF-8 JSON. */
export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Feeds bytes in; returns every complete message they finish. */
  push(chunk: Buffer): unknown[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const messages: unknown[] = [];
    while (this.pendingBytes >= 4) {
      const buffer = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [buffer];
      const length = buffer.readUInt32BE(0);
      if (buffer.length < 4 + length) break;
      messages.push(JSON.parse(buffer.subarray(4, 4 + length).toString('utf8')));
      const rest = buffer.subarray(4 + length);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return messages;
  }
}
