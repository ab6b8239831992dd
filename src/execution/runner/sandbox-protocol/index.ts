// The wire protocol with the Python fork server: frames, the messages in each direction, their checks and limits.
export { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES, FRAME_LENGTH_CAP, ProtocolError } from './frame-codec';
export { MAX_SERVER_FRAME_BYTES, maxServerFrameBytes } from './frame-limits';
export type { ServerFrameLimits } from './frame-limits';
export {
  cancelFrame,
  interruptFrame,
  MAX_RESULT_DEPTH,
  OUTPUT_STREAMS,
  outcomeFromDone,
  parseServerMessage,
  RUN_LIMITS,
  runFrame,
  SERVER_RUN_STATUSES,
  SESSION_SERVER_ENDINGS,
} from './messages';
export type {
  CancelFrame,
  DoneMessage,
  InterruptFrame,
  OutputMessage,
  OutputStream,
  ReadyMessage,
  RunFrame,
  ServerMessage,
  ServerRequest,
} from './messages';
export { ServerMessageReader } from './server-message-reader';
