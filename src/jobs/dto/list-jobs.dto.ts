import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { JOB_STATUSES, JobStatus } from '../job.types';

export class ListJobsQueryDto {
  /** Only jobs in this status. */
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  /** Page size, 1..100 (default 20). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** `next_cursor` of the previous page. */
  @IsOptional()
  @IsString()
  @Matches(/^\d{13}\.[0-9a-f-]{36}$/, { message: 'cursor is not a cursor this service returned' })
  cursor?: string;
}
