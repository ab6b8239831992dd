import { Injectable } from '@nestjs/common';
import { JobRepository } from './job.repository';
import { JobRecord, JobStatus } from './job.types';

export interface JobPage {
  records: JobRecord[];
  nextCursor: string | null;
}

/** Read side: one job of an owner, or a page of the owner's jobs. */
@Injectable()
export class JobListing {
  constructor(private readonly repository: JobRepository) {}

  /** The job if it exists and belongs to `owner`. */
  async get(jobId: string, owner: string): Promise<JobRecord | null> {
    const record = await this.repository.get(jobId);
    return record && record.owner === owner ? record : null;
  }

  /** A page of the owner's jobs, newest first; the cursor is "<created ms>.<job id>" of the last one. */
  async list(owner: string, status: JobStatus | null, limit: number, cursor: string | null): Promise<JobPage> {
    let after = cursor ? { ms: Number(cursor.slice(0, 13)), id: cursor.slice(14) } : null;
    const records: JobRecord[] = [];
    for (;;) {
      const batch = await this.repository.listIds(owner, 100, after);
      if (batch.length === 0) return { records, nextCursor: null };
      const found = await this.repository.getMany(batch.map((e) => e.id));
      await this.repository.forget(
        owner,
        batch.filter((_, i) => !found[i]).map((e) => e.id),
      );
      for (const record of found) {
        if (!record || (status && record.status !== status)) continue;
        if (records.length === limit) {
          const last = records[records.length - 1];
          return { records, nextCursor: `${String(last.createdAtMs).padStart(13, '0')}.${last.jobId}` };
        }
        records.push(record);
      }
      const tail = batch[batch.length - 1];
      after = { ms: tail.ms, id: tail.id };
    }
  }
}
