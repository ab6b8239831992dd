import { HttpException, HttpStatus } from '@nestjs/common';
import { ErrorCode } from '../common/error-code';
import { NO_WORKER_RETRY_AFTER_SEC } from './worker-presence';

export const NO_WORKER_MESSAGE =
  'Service unavailable: no worker is running to execute code; retry later, or submit asynchronously (async: true)';

/** 503 for a sync submit that no live worker could run: refused before any job is made (job_id null). */
export class NoWorkerError extends HttpException {
  constructor(clientId: string | null) {
    super(
      {
        message: NO_WORKER_MESSAGE,
        id: clientId,
        retryAfterSec: NO_WORKER_RETRY_AFTER_SEC,
        error_code: ErrorCode.SERVICE_UNAVAILABLE,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}
