import { iso } from '../common/time';
import { SESSION_ENDED_REASONS, SessionEndedReason } from '../jobs/job.types';

export { SESSION_ENDED_REASONS };
export type { SessionEndedReason };
export const SESSION_STATUSES = ['idle', 'busy', 'ended'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** A session as stored (times in epoch ms). */
export interface SessionRecord {
  sessionId: string;
  owner: string;
  clientId: string | null;
  /** The worker process that holds its interpreter. */
  worker: string;
  /** busy: it has calls pending or running. */
  status: SessionStatus;
  endedReason: SessionEndedReason | null;
  createdAtMs: number;
  lastUsedAtMs: number;
  endedAtMs: number | null;
  ttlSec: number;
  maxLifetimeSec: number;
  executions: number;
  memoryLimitMb: number;
}

export function sessionFromHash(
  sessionId: string,
  h: Record<string, string> | null | undefined,
  openCalls: number,
): SessionRecord | null {
  if (!h || !h.status) return null;
  const ended = h.status === 'ended';
  return {
    sessionId,
    owner: h.owner,
    clientId: h.client_id ?? null,
    worker: h.worker,
    status: ended ? 'ended' : openCalls > 0 ? 'busy' : 'idle',
    endedReason: ended ? (h.ended_reason as SessionEndedReason) : null,
    createdAtMs: Number(h.created_at),
    lastUsedAtMs: Number(h.last_used_at),
    endedAtMs: h.ended_at ? Number(h.ended_at) : null,
    ttlSec: Number(h.ttl_sec),
    maxLifetimeSec: Number(h.max_lifetime_sec),
    executions: Number(h.executions ?? 0),
    memoryLimitMb: Number(h.memory_limit_mb),
  };
}

/** When an idle session ends by itself: its idle TTL after last use, or its maximum lifetime, the earlier. */
export function expiresAtMs(record: SessionRecord): number {
  return Math.min(record.lastUsedAtMs + record.ttlSec * 1000, record.createdAtMs + record.maxLifetimeSec * 1000);
}

/** The session as every route answers it (`response`). */
export function sessionView(record: SessionRecord) {
  return {
    session_id: record.sessionId,
    id: record.clientId,
    status: record.status,
    created_at: iso(record.createdAtMs)!,
    last_used_at: iso(record.lastUsedAtMs)!,
    expires_at: record.status === 'ended' ? iso(record.endedAtMs) : iso(expiresAtMs(record)),
    executions: record.executions,
    memory_limit_mb: record.memoryLimitMb,
    ended_reason: record.endedReason,
    ended_at: iso(record.endedAtMs),
  };
}
