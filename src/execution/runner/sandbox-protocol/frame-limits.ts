import { FRAME_LENGTH_CAP } from './frame-codec';

const MIB = 1024 * 1024;

/** What one run's answer may carry; the fork server enforces each cap before it frames the answer. */
export interface ServerFrameLimits {
  /** stdout and stderr, each (MAX_OUTPUT_BYTES). */
  maxOutputBytes: number;
  /** The result or error report, as the run's JSON (today MAX_OUTPUT_BYTES as well). */
  maxResultBytes: number;
  /** Output files, raw bytes in all (MAX_OUTPUT_FILE_BYTES, coming with issue 26). */
  maxOutputFileBytes?: number;
  /** Display data in all (MAX_DISPLAY_BYTES, coming with issue 26). */
  maxDisplayBytes?: number;
}

/** Worst JSON growth of captured text: a control byte becomes `\u00XX` (6 bytes); U+FFFD from a bad byte is 3. */
const JSON_TEXT_EXPANSION = 6;
/** API.md caps `response.files` at 1,000 entries. */
const MAX_OUTPUT_FILES = 1000;
/** Per file besides its content: a 255-byte path escaped (6x), sha256 hex, media type, sizes, keys. */
const FILE_ENTRY_OVERHEAD_BYTES = 2048;
/** The frame's other fields (op, id, status, codes, flags, error text of a limit) with room to spare. */
const FIXED_FIELDS_BYTES = 64 * 1024;
const COMING_FILE_BYTES = 8 * MIB;
const COMING_DISPLAY_BYTES = 8 * MIB;

function base64Bytes(rawBytes: number): number {
  return Math.ceil(rawBytes / 3) * 4;
}

/**
 * The largest frame a fork server that keeps its caps can send: larger stated lengths are refused
 * before buffering. stdout/stderr escape at worst 6x; the result is re-encoded as it was measured;
 * files travel as base64 (4/3) plus their entries; display data is counted at the text worst case
 * (SVG/HTML escaped 6x; base64 PNG is only 4/3), which assumes issue 26 counts each display entry's
 * own fields against MAX_DISPLAY_BYTES.
 */
export function maxServerFrameBytes(limits: ServerFrameLimits): number {
  const fileBytes = limits.maxOutputFileBytes ?? COMING_FILE_BYTES;
  const displayBytes = limits.maxDisplayBytes ?? COMING_DISPLAY_BYTES;
  const total =
    2 * JSON_TEXT_EXPANSION * limits.maxOutputBytes +
    limits.maxResultBytes +
    base64Bytes(fileBytes) +
    MAX_OUTPUT_FILES * FILE_ENTRY_OVERHEAD_BYTES +
    JSON_TEXT_EXPANSION * displayBytes +
    FIXED_FIELDS_BYTES;
  return Math.min(total, FRAME_LENGTH_CAP);
}

/**
 * For the default caps (1 MiB output and result, 8 MiB files, 8 MiB display):
 * 12 MiB + 1 MiB + 10.7 MiB + 2 MB + 48 MiB + 64 KiB = 77,261,484 bytes (about 74 MiB).
 */
export const MAX_SERVER_FRAME_BYTES = maxServerFrameBytes({ maxOutputBytes: MIB, maxResultBytes: MIB });
