import { ConflictException, NotFoundException } from '@nestjs/common';
import { ErrorCode } from '../common/error-code';
import { JOB_NOT_FOUND } from '../common/messages';
import type { JobRecord } from './job.types';

// The errors of the job routes, shared by the HTTP controller and the MCP tools.

export function jobNotFound(jobId: string): NotFoundException {
  return new NotFoundException({ message: JOB_NOT_FOUND, error_code: ErrorCode.NOT_FOUND, job_id: jobId });
}

export function jobAlreadyEnded(record: JobRecord): ConflictException {
  return new ConflictException({
    message: `Job already ${record.status}`,
    error_code: ErrorCode.JOB_ALREADY_FINISHED,
    job_id: record.jobId,
    id: record.clientId,
  });
}
