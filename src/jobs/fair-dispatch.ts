import type Redis from 'ioredis';
import { LuaScript } from '../redis/lua-script';

/** A key's waiting-turns set outlives its last submit by this much (a stale one only delays that key's next turn). */
const TURNS_TTL_MS = 24 * 3600 * 1000;

// A new job's turn: after the turn being served now (the clock) and after the owner's newest waiting
// turn, so keys with waiting jobs take turns one job each and an idle key's job goes next.
// Turns at or below the clock can no longer raise the answer: they are pruned here.
// KEYS: clock, the owner's waiting turns. ARGV: job id, TTL ms of the turns set. Answers the turn.
const TAKE_TURN_SCRIPT = new LuaScript(`
local clock = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', clock)
local newest = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local turn = clock + 1
if newest[2] then turn = math.max(turn, tonumber(newest[2]) + 1) end
redis.call('ZADD', KEYS[2], turn, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return turn`);

// A worker took a job: the clock moves up to its turn (never back: workers take jobs concurrently).
// KEYS: clock. ARGV: the job's turn.
const ADVANCE_SCRIPT = new LuaScript(`
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`);

/**
 * Fair dispatch between API keys (start-time fair queuing on Bull priorities): each job gets a turn
 * number, used as its Bull priority (lower runs first, FIFO among equals). One key's backlog holds
 * turns clock+1..clock+n; another key's job gets clock+1 and so waits for at most one job of each
 * busy key, not for the backlog. A key alone gets consecutive turns: plain FIFO, the whole capacity.
 */
export class FairDispatch {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private clockKey(): string {
    return `${this.prefix}:fair:clock`;
  }

  private turnsKey(owner: string): string {
    return `${this.prefix}:fair:turns:${owner}`;
  }

  /** The turn (Bull priority, >= 1) of a job about to be queued. */
  async takeTurn(owner: string, jobId: string): Promise<number> {
    const keys = [this.clockKey(), this.turnsKey(owner)];
    return Number(await TAKE_TURN_SCRIPT.run(this.redis, keys, [jobId, TURNS_TTL_MS]));
  }

  /** A worker took a job with this turn. */
  async served(turn: number): Promise<void> {
    await ADVANCE_SCRIPT.run(this.redis, [this.clockKey()], [turn]);
  }

  /** The job left the queue without running (cancelled, or never queued): its turn is freed. */
  async release(owner: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.turnsKey(owner), jobId);
  }
}
