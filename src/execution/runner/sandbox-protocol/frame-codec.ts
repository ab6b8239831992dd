/** Length-prefixed JSON frames: a 4-byte big-endian body length, then the UTF-8 JSON body. */
export const FRAME_HEADER_BYTES = 4;
/** The largest length a 4-byte header can state. */
export const FRAME_LENGTH_CAP = 0xffff_ffff;

/** The fork server broke the protocol: its run ends as an internal error and the server is replaced. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > FRAME_LENGTH_CAP) throw new RangeError(`frame of ${body.length} bytes does not fit its header`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Cuts a byte stream into frame bodies. A stated length over maxFrameBytes is refused as soon as its
 * header is in, before any of the body is kept; chunks are joined only once a whole frame is there
 * (joining on every chunk copied a large frame once per 64 KiB read).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Body length of the frame being read, once its header is in. */
  private bodyBytes: number | undefined;

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes of a frame not yet complete (a server that exits now ended mid-frame). */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Feeds bytes in; returns the body of every frame they complete. Throws ProtocolError. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    const bodies: Buffer[] = [];
    for (;;) {
      if (this.bodyBytes === undefined) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) break;
        const length = this.joined(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.maxFrameBytes) {
          throw new ProtocolError(`frame of ${length} bytes announced, over the ${this.maxFrameBytes}-byte maximum`);
        }
        this.bodyBytes = length;
      }
      const frameBytes = FRAME_HEADER_BYTES + this.bodyBytes;
      if (this.bufferedBytes < frameBytes) break;
      const first = this.joined(frameBytes);
      bodies.push(first.subarray(FRAME_HEADER_BYTES, frameBytes));
      const rest = first.subarray(frameBytes);
      if (rest.length > 0) this.chunks[0] = rest;
      else this.chunks.shift();
      this.bufferedBytes -= frameBytes;
      this.bodyBytes = undefined;
    }
    return bodies;
  }

  /** The buffered bytes as one buffer whose first `bytes` are contiguous (copies only when they are not). */
  private joined(bytes: number): Buffer {
    if (this.chunks[0].length < bytes) this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
    return this.chunks[0];
  }
}
