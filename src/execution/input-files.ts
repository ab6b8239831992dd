import { ApiException, ErrorCode } from '../common/error-code';
import { INVALID_PARAMETERS } from '../common/messages';
import type { RunInputFile } from './runner/python-runner';
import type { InputFileDto } from './dto/input-file.dto';

export interface InputFileLimits {
  maxInputFiles: number;
  maxInputFileBytes: number;
}

const MAX_PATH_BYTES = 255;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A request's `files` as the sandbox takes them (base64 content), or the documented error: a bad
 * path, a duplicate, bad base64 or too many files is 400 INVALID_REQUEST with details; a decoded
 * total over MAX_INPUT_FILE_BYTES is 413. Shared by every route that takes `files`.
 */
export function checkInputFiles(files: InputFileDto[] | undefined, limits: InputFileLimits): RunInputFile[] {
  if (!files?.length) return [];
  const details: string[] = [];
  if (files.length > limits.maxInputFiles) {
    details.push(`files must contain at most ${limits.maxInputFiles} files`);
  }
  const paths = new Set<string>();
  let totalBytes = 0;
  const checked = files.map((file, index) => {
    const where = `files[${index}]`;
    const pathProblem = problemOfPath(file.path);
    if (pathProblem) details.push(`${where}.path ${pathProblem}`);
    else if (paths.has(file.path)) details.push(`${where}.path duplicates another file's path`);
    paths.add(file.path);
    if (file.encoding === 'base64') {
      if (!BASE64.test(file.content)) {
        details.push(`${where}.content is not valid base64`);
        return { path: file.path, content: '' };
      }
      totalBytes += base64DecodedBytes(file.content);
      return { path: file.path, content: file.content };
    }
    const bytes = Buffer.from(file.content, 'utf8');
    totalBytes += bytes.length;
    return { path: file.path, content: bytes.toString('base64') };
  });
  for (const path of paths) {
    const parent = problemOfPath(path) ? null : parentThatIsAFile(path, paths);
    if (parent) details.push(`files: ${JSON.stringify(path)} is under ${JSON.stringify(parent)}, which is a file`);
  }
  if (details.length > 0) throw new ApiException(ErrorCode.INVALID_REQUEST, INVALID_PARAMETERS, { details });
  if (totalBytes > limits.maxInputFileBytes) {
    throw new ApiException(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `files total ${totalBytes} bytes decoded, more than MAX_INPUT_FILE_BYTES (${limits.maxInputFileBytes})`,
    );
  }
  return checked;
}

/** Why a path is refused, or null: relative, no empty, `.` or `..` segment, no NUL, at most 255 bytes. */
function problemOfPath(path: string): string | null {
  if (path.length === 0) return 'must not be empty';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.startsWith('/')) return 'must be relative (no leading /)';
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) return `must be at most ${MAX_PATH_BYTES} bytes`;
  if (path.split('/').some((segment) => segment === '..')) return 'must not contain a .. segment';
  if (path.split('/').some((segment) => segment === '' || segment === '.')) {
    return 'must not contain an empty or . segment';
  }
  return null;
}

function parentThatIsAFile(path: string, paths: Set<string>): string | null {
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const parent = segments.slice(0, i).join('/');
    if (paths.has(parent)) return parent;
  }
  return null;
}

function base64DecodedBytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}
