import type Redis from 'ioredis';
import type { SessionEndedReason } from '../jobs/job.types';
import { CREATE_SESSION_SCRIPT, END_SESSION_SCRIPT, ENQUEUE_CALL_SCRIPT } from './session.scripts';
import { SessionRecord, sessionFromHash } from './session.types';

/** An ended session stays readable this long (API.md: an hour). */
export const ENDED_SESSION_RETENTION_SEC = 3600;
/** A worker that holds sessions refreshes its liveness key this often; the key lives SESSION_HOST_TTL_MS. */
export const SESSION_HOST_BEAT_MS = 1000;
export const SESSION_HOST_TTL_MS = 3000;

export type CreateResult = 'created' | 'key_limit' | 'worker_full' | 'no_worker';
/**
 * A call was routed (through its worker's stream, or to hand over in this process; `started`: its job
 * was started in the same step), or refused: why.
 */
export type EnqueueResult = { routed: 'stream' } | { routed: 'here'; started: boolean } | { refused: string };
/** Where a call may go without its worker's stream, and how to start it there at once. */
export interface HereOptions {
  /** This process' worker. */
  worker: string;
  /** Its job's keys (JobLifecycle.startKeys) and start time: started if it is the session's only open call. */
  start?: { jobKeys: [string, string]; atMs: number };
}
export type EndResult = { ended: true; openCalls: string[]; worker: string } | { ended: false; reason: string };
/** What a worker's stream carries: a session's creation, a call (its job data), an interrupt, an ending. */
export type HostMessage =
  | { type: 'create'; sessionId: string; createdAtMs: number; ttlSec: number; maxLifetimeSec: number }
  | { type: 'call'; sessionId: string; data: string; started?: boolean }
  | { type: 'interrupt'; sessionId: string }
  | { type: 'end'; sessionId: string };

/** The only code that knows the sessions' Redis keys (records, indexes, open calls, workers' streams). */
export class SessionRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  sessionKey(sessionId: string): string {
    return `${this.prefix}:session:${sessionId}`;
  }
  private callsKey(sessionId: string): string {
    return `${this.prefix}:session:${sessionId}:calls`;
  }
  private ownerKey(owner: string): string {
    return `${this.prefix}:sessions:owner:${owner}`;
  }
  private liveKey(owner: string): string {
    return `${this.prefix}:sessions:live:${owner}`;
  }
  private workerSessionsKey(workerId: string): string {
    return `${this.prefix}:sessions:worker:${workerId}`;
  }
  private hostsKey(): string {
    return `${this.prefix}:sessions:hosts`;
  }
  private hostAliveKey(workerId: string): string {
    return `${this.prefix}:session-host:${workerId}`;
  }
  /** The worker's stream of HostMessages (read with XREADGROUP by that worker only). */
  streamKey(workerId: string): string {
    return `${this.prefix}:session-calls:${workerId}`;
  }

  /** Sessions alive on workers that hold any (the metric pyexec_sessions_open). */
  async openCount(): Promise<number> {
    const ids = await this.redis.smembers(this.hostsKey());
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.scard(this.workerSessionsKey(id));
    return ((await pipeline.exec()) ?? []).reduce((sum, [, count]) => sum + Number(count), 0);
  }

  /** Workers whose liveness key expired: their sessions are lost. */
  async deadHosts(): Promise<string[]> {
    const ids = await this.redis.smembers(this.hostsKey());
    if (ids.length === 0) return [];
    const alive = await this.redis.mget(ids.map((id) => this.hostAliveKey(id)));
    return ids.filter((_, i) => alive[i] === null);
  }

  async hostBeat(workerId: string): Promise<void> {
    await this.redis
      .multi()
      .set(this.hostAliveKey(workerId), '1', 'PX', SESSION_HOST_TTL_MS)
      .sadd(this.hostsKey(), workerId)
      .exec();
  }

  /** The worker leaves (shutdown) or was found dead: its keys go; its sessions were ended first. */
  async forgetHost(workerId: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.hostAliveKey(workerId), this.workerSessionsKey(workerId), this.streamKey(workerId))
      .srem(this.hostsKey(), workerId)
      .exec();
  }

  async sessionsOf(workerId: string): Promise<string[]> {
    return this.redis.smembers(this.workerSessionsKey(workerId));
  }

  /**
   * Writes a new session on the live worker that holds the fewest (its `worker` is set here) unless
   * the owner or every worker is at its limit, and tells that worker: one step. When that worker is
   * `hereWorker` (this process'), `here` is set and the caller tells it instead.
   */
  async create(
    record: Omit<SessionRecord, 'worker'>,
    limits: { perKey: number; perWorker: number },
    hereWorker = '',
  ): Promise<{ result: CreateResult; worker?: string; here?: boolean }> {
    const reply = (await CREATE_SESSION_SCRIPT.run(
      this.redis,
      [this.hostsKey(), this.ownerKey(record.owner), this.liveKey(record.owner)],
      [
        this.prefix,
        record.sessionId,
        record.createdAtMs,
        limits.perKey,
        limits.perWorker,
        ENDED_SESSION_RETENTION_SEC * 1000 + record.maxLifetimeSec * 1000,
        record.ttlSec,
        record.maxLifetimeSec,
        hereWorker,
        ...Object.entries(toHash(record)).flat(),
      ],
    )) as [number, string?];
    if (reply[0] === 2) return { result: 'created', worker: reply[1], here: true };
    const results: Record<number, CreateResult> = {
      1: 'created',
      [-1]: 'key_limit',
      [-2]: 'worker_full',
      [-3]: 'no_worker',
    };
    return { result: results[reply[0]], worker: reply[1] };
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const pipeline = this.redis.pipeline().hgetall(this.sessionKey(sessionId)).scard(this.callsKey(sessionId));
    const [[, hash], [, calls]] = (await pipeline.exec()) as Array<[Error | null, unknown]>;
    return sessionFromHash(sessionId, hash as Record<string, string>, Number(calls));
  }

  /** The owner's sessions (alive, and ended within the retention), newest first; expired entries are pruned. */
  async list(owner: string): Promise<SessionRecord[]> {
    const ids = await this.redis.zrevrange(this.ownerKey(owner), 0, -1);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    const gone = ids.filter((_, i) => records[i] === null);
    if (gone.length) await this.redis.zrem(this.ownerKey(owner), ...gone);
    return records.filter((record): record is SessionRecord => record !== null);
  }

  /** Marks it ended (once): its open calls (to answer 410) and its worker; or why it had ended already. */
  async end(sessionId: string, reason: SessionEndedReason, nowMs = Date.now()): Promise<EndResult> {
    const reply = (await END_SESSION_SCRIPT.run(
      this.redis,
      [this.sessionKey(sessionId), this.callsKey(sessionId)],
      [this.prefix, sessionId, reason, nowMs, ENDED_SESSION_RETENTION_SEC],
    )) as Array<string | number> | null;
    if (!reply) return { ended: false, reason: 'unknown' };
    if (reply[0] === 0) return { ended: false, reason: String(reply[1]) };
    return { ended: true, worker: String(reply[1]), openCalls: reply.slice(2).map(String) };
  }

  /**
   * Routes a call to its session's worker (`here` when that is `here.worker`, this process' worker,
   * with nothing waiting on its stream: the caller hands it over, started already when `here.start`
   * asked for it and no other call of the session is open); or why not: the session has ended (its
   * reason), or it is unknown or not `owner`'s ('unknown').
   */
  async enqueueCall(
    sessionId: string,
    owner: string,
    job: { jobId: string; data: string },
    options: { via?: Redis; here?: HereOptions } = {},
  ): Promise<EnqueueResult> {
    const { jobId, data } = job;
    const { worker = '', start } = options.here ?? {};
    const reply = (await ENQUEUE_CALL_SCRIPT.run(
      options.via ?? this.redis,
      [this.sessionKey(sessionId), this.callsKey(sessionId), ...(start?.jobKeys ?? ['', ''])],
      [this.prefix, jobId, data, sessionId, owner, worker, start?.atMs ?? ''],
    )) as [number, string];
    if (reply[0] === 0) return { refused: reply[1] };
    return reply[0] === 1 ? { routed: 'stream' } : { routed: 'here', started: reply[0] === 3 };
  }

  async send(workerId: string, message: HostMessage): Promise<void> {
    await this.redis.xadd(this.streamKey(workerId), '*', ...messageFields(message));
  }

  /** A call has ended: no longer open; the session was used now. */
  async callEnded(sessionId: string, jobId: string, nowMs: number): Promise<void> {
    await this.redis
      .multi()
      .srem(this.callsKey(sessionId), jobId)
      .hincrby(this.sessionKey(sessionId), 'executions', 1)
      .hset(this.sessionKey(sessionId), 'last_used_at', nowMs)
      .exec();
  }

  /** A call that never ran (cancelled while it waited): no longer open. */
  async callDropped(sessionId: string, jobId: string): Promise<void> {
    await this.redis.srem(this.callsKey(sessionId), jobId);
  }
}

function toHash(record: Omit<SessionRecord, 'worker'>): Record<string, string> {
  return {
    owner: record.owner,
    ...(record.clientId !== null && { client_id: record.clientId }),
    status: 'alive',
    created_at: String(record.createdAtMs),
    last_used_at: String(record.lastUsedAtMs),
    ttl_sec: String(record.ttlSec),
    max_lifetime_sec: String(record.maxLifetimeSec),
    executions: '0',
    memory_limit_mb: String(record.memoryLimitMb),
  };
}

function messageFields(message: HostMessage): string[] {
  const fields = ['type', message.type, 'session', message.sessionId];
  return message.type === 'call' ? [...fields, 'data', message.data] : fields;
}

/** A stream entry's fields as a HostMessage; null when it is not one. */
export function parseHostMessage(fields: string[]): HostMessage | null {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
  const type = map.get('type');
  const sessionId = map.get('session');
  if (!sessionId) return null;
  if (type === 'call') {
    const data = map.get('data');
    return data === undefined ? null : { type, sessionId, data };
  }
  if (type === 'create') {
    const [createdAtMs, ttlSec, maxLifetimeSec] = ['created', 'ttl', 'lifetime'].map((name) => Number(map.get(name)));
    if (![createdAtMs, ttlSec, maxLifetimeSec].every(Number.isFinite)) return null;
    return { type, sessionId, createdAtMs, ttlSec, maxLifetimeSec };
  }
  return type === 'interrupt' || type === 'end' ? { type, sessionId } : null;
}
