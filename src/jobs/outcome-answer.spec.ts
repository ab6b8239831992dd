import { ERROR_CODE_STATUS } from '../common/error-code';
import { editorErrorCodeOf } from '../editor/editor.exception';
import type { JobEnding } from './job.types';
import { answerOf } from './outcome-answer';

/** Every ending kind, what v1 answers, and the editor dialect's code for it. */
const cases: Array<[JobEnding, number, string | null, string | null, string | null]> = [
  [{ kind: 'completed' }, 200, null, null, null],
  [{ kind: 'cancelled' }, 499, 'JOB_CANCELLED', null, 'JOB_CANCELLED'],
  [{ kind: 'failed', failure: 'exception' }, 400, 'EXECUTION_FAILED', null, 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'exit' }, 400, 'EXECUTION_FAILED', null, 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'limit', limit: 'memory' }, 400, 'RESOURCE_LIMIT', 'memory', 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'limit', limit: 'cpu' }, 400, 'RESOURCE_LIMIT', 'cpu', 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'limit', limit: 'disk' }, 400, 'RESOURCE_LIMIT', 'disk', 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'limit', limit: 'files' }, 400, 'RESOURCE_LIMIT', 'files', 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'limit', limit: 'processes' }, 400, 'RESOURCE_LIMIT', 'processes', 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'limit', limit: 'result' }, 400, 'RESOURCE_LIMIT', 'result', 'EXECUTION_FAILED'],
  [{ kind: 'failed', failure: 'timeout' }, 408, 'TIMEOUT', null, 'TIMEOUT'],
  [{ kind: 'failed', failure: 'internal' }, 500, 'INTERNAL_ERROR', null, 'INTERNAL_ERROR'],
];

describe('answerOf: the one mapping from an ending to its HTTP answer', () => {
  it.each(cases)('%j: v1 %i %s (limit %s), editor %s', (ending, status, errorCode, limit, editorCode) => {
    const answer = answerOf(ending);
    expect(answer).toEqual({ status, errorCode, limit });
    expect(answer.errorCode === null ? null : editorErrorCodeOf(answer.errorCode)).toBe(editorCode);
  });

  it('the status of every code it answers is the status that code is documented with', () => {
    for (const [ending] of cases) {
      const { status, errorCode } = answerOf(ending);
      if (errorCode) expect(ERROR_CODE_STATUS[errorCode]).toBe(status);
    }
  });
});
