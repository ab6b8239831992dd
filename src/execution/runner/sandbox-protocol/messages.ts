import { DISPLAY_MIME_TYPES } from '../python-runner';
import type { DisplayItem, OutputFile, RunInputFile, RunOutcome, RunRequest } from '../python-runner';
import { encodeFrame, ProtocolError } from './frame-codec';

// ---- Node -> fork server (trusted: we build them)

/** Run one program (one at a time per server). Field order is the wire's. */
export interface RunFrame {
  op: 'run';
  id: string;
  code: string;
  stdin: string;
  timeout_ms: number;
  /** RLIMIT_CPU of the run: its timeout in whole seconds plus one. */
  cpu_sec: number;
  /** Send its stdout/stderr as 'output' frames while it runs (absent: only in 'done'). */
  stream?: boolean;
  /** Input files (checked paths, base64 content), written by the run's pid 1; absent when none. */
  files?: RunInputFile[];
}

/** Stop the run with this id (ignored once it has ended). */
export interface CancelFrame {
  op: 'cancel';
  id: string;
}

/** A session: raise KeyboardInterrupt in the call with this id (ignored once it has ended). */
export interface InterruptFrame {
  op: 'interrupt';
  id: string;
}

export type ServerRequest = RunFrame | CancelFrame | InterruptFrame;

export function runFrame(request: RunRequest): Buffer {
  const frame: RunFrame = {
    op: 'run',
    id: request.runId,
    code: request.code,
    stdin: request.stdin,
    timeout_ms: request.timeoutMs,
    cpu_sec: Math.ceil(request.timeoutMs / 1000) + 1,
    ...(request.onOutput && { stream: true }),
    ...(request.files?.length ? { files: request.files } : {}),
  };
  return encodeFrame(frame);
}

export function cancelFrame(runId: string): Buffer {
  const frame: CancelFrame = { op: 'cancel', id: runId };
  return encodeFrame(frame);
}

export function interruptFrame(runId: string): Buffer {
  const frame: InterruptFrame = { op: 'interrupt', id: runId };
  return encodeFrame(frame);
}

// ---- fork server -> Node (untrusted: checked field by field)

/** The server is up and can take runs. */
export interface ReadyMessage {
  op: 'ready';
  pid: number;
  uid: number;
}

export const OUTPUT_STREAMS = ['stdout', 'stderr'] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];

/** A chunk of a streamed run's stdout or stderr, as it was written (within the output cap). */
export interface OutputMessage {
  op: 'output';
  id: string;
  stream: OutputStream;
  data: string;
}

/** The server is supervising this run (every 250 ms): Node's backstop counts from the last one. */
export interface HeartbeatMessage {
  op: 'heartbeat';
  id: string;
}

/** What the server itself reports (Node's own 'crashed' never comes from the wire). */
export const SERVER_RUN_STATUSES = ['exited', 'signaled', 'timeout', 'cancelled', 'setup_failed'] as const;
export const RUN_LIMITS = ['memory', 'cpu', 'disk', 'files', 'processes', 'result'] as const;
/** Python's json.loads recurses, so a result it parsed is never nested deeper than its recursion limit. */
export const MAX_RESULT_DEPTH = 1000;
/** Why a session server ended its session with a call's answer (then it exits). */
export const SESSION_SERVER_ENDINGS = ['timeout', 'memory', 'crashed'] as const;

/** One run's answer (snake_case; a setup failure sends only op, id, status and error). */
export interface DoneMessage {
  op: 'done';
  id: string;
  status: (typeof SERVER_RUN_STATUSES)[number];
  exit_code?: number;
  signal?: number | null;
  stdout?: string;
  stderr?: string;
  stdout_truncated?: boolean;
  stderr_truncated?: boolean;
  result?: unknown;
  error?: string | null;
  limit?: (typeof RUN_LIMITS)[number] | null;
  run_ms?: number;
  files?: OutputFile[];
  display?: DisplayItem[];
  display_truncated?: boolean;
  /** A session server only: this call ended the session. */
  session_ended?: (typeof SESSION_SERVER_ENDINGS)[number];
}

export type ServerMessage = ReadyMessage | OutputMessage | HeartbeatMessage | DoneMessage;

type FieldCheck = (value: unknown) => boolean;

const isString: FieldCheck = (value) => typeof value === 'string';
const isBoolean: FieldCheck = (value) => typeof value === 'boolean';
const orNull =
  (check: FieldCheck): FieldCheck =>
  (value) =>
    value === null || check(value);
const isIntegerIn =
  (min: number, max: number): FieldCheck =>
  (value) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
const isOneOf =
  (allowed: readonly string[]): FieldCheck =>
  (value) =>
    typeof value === 'string' && allowed.includes(value);

/** API.md: response.files lists at most 1,000 entries. */
export const MAX_OUTPUT_FILES = 1000;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const isArrayOf =
  (check: FieldCheck, max: number): FieldCheck =>
  (value) =>
    Array.isArray(value) && value.length <= max && value.every(check);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const hasOnly = (value: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(value).every((key) => keys.includes(key));

/** A regular file's entry: content (base64) or truncated, never both. */
function isOutputFile(value: unknown): boolean {
  if (!isRecord(value) || !hasOnly(value, ['path', 'size', 'sha256', 'media_type', 'content', 'truncated']))
    return false;
  const hasContent = Object.hasOwn(value, 'content');
  return (
    isString(value.path) &&
    isIntegerIn(0, Number.MAX_SAFE_INTEGER)(value.size) &&
    typeof value.sha256 === 'string' &&
    SHA256_HEX.test(value.sha256) &&
    isString(value.media_type) &&
    hasContent !== Object.hasOwn(value, 'truncated') &&
    (hasContent ? isString(value.content) : value.truncated === true)
  );
}

function isDisplayItem(value: unknown): boolean {
  return (
    isRecord(value) &&
    hasOnly(value, ['mime_type', 'data']) &&
    isOneOf(DISPLAY_MIME_TYPES)(value.mime_type) &&
    isString(value.data)
  );
}

/** Each message's fields and their checks; Maps, so a key like `__proto__` is just unknown. */
const MESSAGE_FIELDS: ReadonlyMap<string, { fields: ReadonlyMap<string, FieldCheck>; required: string[] }> = new Map([
  [
    'ready',
    {
      fields: new Map<string, FieldCheck>([
        ['op', isString],
        ['pid', isIntegerIn(1, 2 ** 31)],
        ['uid', isIntegerIn(0, 2 ** 32)],
      ]),
      required: ['op', 'pid', 'uid'],
    },
  ],
  [
    'output',
    {
      fields: new Map<string, FieldCheck>([
        ['op', isString],
        ['id', isString],
        ['stream', isOneOf(OUTPUT_STREAMS)],
        ['data', isString],
      ]),
      required: ['op', 'id', 'stream', 'data'],
    },
  ],
  [
    'heartbeat',
    {
      fields: new Map<string, FieldCheck>([
        ['op', isString],
        ['id', isString],
      ]),
      required: ['op', 'id'],
    },
  ],
  [
    'done',
    {
      fields: new Map<string, FieldCheck>([
        ['op', isString],
        ['id', isString],
        ['status', isOneOf(SERVER_RUN_STATUSES)],
        ['exit_code', isIntegerIn(0, 255)],
        ['signal', orNull(isIntegerIn(1, 64))],
        ['stdout', isString],
        ['stderr', isString],
        ['stdout_truncated', isBoolean],
        ['stderr_truncated', isBoolean],
        ['result', (value) => nestingDepth(value) <= MAX_RESULT_DEPTH],
        ['error', orNull(isString)],
        ['limit', orNull(isOneOf(RUN_LIMITS))],
        ['run_ms', (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0],
        ['files', isArrayOf(isOutputFile, MAX_OUTPUT_FILES)],
        ['display', isArrayOf(isDisplayItem, Infinity)],
        ['display_truncated', isBoolean],
        ['session_ended', isOneOf(SESSION_SERVER_ENDINGS)],
      ]),
      required: ['op', 'id', 'status'],
    },
  ],
]);

/** A frame body from the fork server as a typed message; anything else is a ProtocolError. */
export function parseServerMessage(body: Buffer): ServerMessage {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProtocolError('frame is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('frame is not a JSON object');
  }
  const message = value as Record<string, unknown>;
  const shape = typeof message.op === 'string' ? MESSAGE_FIELDS.get(message.op) : undefined;
  if (!shape) throw new ProtocolError('frame has no known op');
  for (const key of Object.keys(message)) {
    const check = shape.fields.get(key);
    if (!check) throw new ProtocolError(`${message.op as string} frame has an unknown field`);
    if (!check(message[key])) throw new ProtocolError(`${message.op as string} frame has a bad ${key}`);
  }
  for (const key of shape.required) {
    if (!Object.hasOwn(message, key)) throw new ProtocolError(`${message.op as string} frame has no ${key}`);
  }
  return message as unknown as ServerMessage;
}

/** The runner's outcome from a checked answer; what the server left out takes the safe default. */
export function outcomeFromDone(done: DoneMessage): RunOutcome {
  return {
    status: done.status,
    exitCode: done.exit_code ?? 1,
    signal: done.signal ?? null,
    stdout: done.stdout ?? '',
    stderr: done.stderr ?? '',
    stdoutTruncated: done.stdout_truncated ?? false,
    stderrTruncated: done.stderr_truncated ?? false,
    result: done.result ?? null,
    error: done.error ?? null,
    limit: done.limit ?? null,
    runMs: done.run_ms ?? 0,
    files: done.files ?? [],
    display: done.display ?? [],
    displayTruncated: done.display_truncated ?? false,
    ...(done.session_ended && { sessionEnded: done.session_ended }),
  };
}

/** Nesting depth of a parsed JSON value, without recursion (a hostile value could be deeper than the stack). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_RESULT_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}
