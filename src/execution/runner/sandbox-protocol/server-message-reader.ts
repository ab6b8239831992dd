import { FrameDecoder } from './frame-codec';
import { parseServerMessage, ServerMessage } from './messages';

/** The fork server's stdout as checked messages: the one place Node reads what the sandbox side sends. */
export class ServerMessageReader {
  private readonly decoder: FrameDecoder;

  constructor(maxFrameBytes: number) {
    this.decoder = new FrameDecoder(maxFrameBytes);
  }

  /** Bytes of a frame not yet complete. */
  get pendingBytes(): number {
    return this.decoder.pendingBytes;
  }

  /** Every message the chunk completes; throws ProtocolError on the first bad frame (no later one is trusted). */
  push(chunk: Buffer): ServerMessage[] {
    return this.decoder.push(chunk).map(parseServerMessage);
  }
}
