import { LuaScript } from '../redis/lua-script';

// The job core's atomic steps, one round trip each (job.repository.ts calls them).

// A new record and its owner-index entry; the index loses entries older than its window and gets
// its TTL renewed. KEYS: record, owner index. ARGV: created_at, job id, "(" + oldest score kept,
// index window ms, then the record's fields and values.
export const CREATE_SCRIPT = new LuaScript(`
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`);

// pending -> running, atomically. 'running' -> 'running' is a re-run after a stalled worker; a job
// whose cancellation was requested (its worker may have died meanwhile) does not start.
// Answers 1 when started, 0 when the job ended, 2 when its cancellation was requested.
export const START_SCRIPT = new LuaScript(`
local status, cancel = unpack(redis.call('HMGET', KEYS[1], 'status', 'cancel_requested'))
if status ~= 'pending' and status ~= 'running' then return 0 end
if cancel == '1' then return 2 end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
return 1`);

// Marks a job that has not ended as to be cancelled; any worker that picks it up later refuses it.
export const CANCEL_SCRIPT = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'cancel_requested', '1')
return 1`);

// The final state, once: a job that already ended keeps its first ending (answers 0). Times are
// measured here from the record (run time from the sandbox when it ran there); queue_length is what
// Bull's getWaitingCount() answered just before. In the same atomic step: a job with a webhook
// enters the delivery outbox, its event stream gets its final status and its end (and the record's
// TTL), and "ended" is published.
// Answers the fields the caller does not already know, as [field, value, ...] (absent ones false).
// ARGV: status, ended_at, run_ms ('' = measure), outcome JSON, retention s, job id, channel, message,
// queue_length, event stream MAXLEN. KEYS: record, webhook outbox, event stream.
export const FINISH_SCRIPT = new LuaScript(`
local fields = redis.call('HMGET', KEYS[1], 'status', 'created_at', 'started_at', 'webhook', 'owner', 'endpoint',
  'client_id', 'cancel_requested')
local status = fields[1]
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then return 0 end
local ended = tonumber(ARGV[2])
local started = tonumber(fields[3])
local run_ms = ARGV[3]
if run_ms == '' then run_ms = tostring(started and (ended - started) or 0) end
local queue_ms = tostring((started or ended) - tonumber(fields[2]))
local queue_length = ARGV[9]
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'ended_at', ARGV[2], 'queue_ms', queue_ms, 'run_ms', run_ms,
  'queue_length', queue_length, 'outcome', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
if fields[4] then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6]) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '*', 't', 'status', 'd', ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '*', 't', 'end', 'd', '')
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {'created_at', fields[2], 'started_at', fields[3], 'webhook', fields[4], 'owner', fields[5],
  'endpoint', fields[6], 'client_id', fields[7], 'cancel_requested', fields[8], 'queue_ms', queue_ms,
  'run_ms', run_ms, 'queue_length', queue_length}`);

// Only while the record exists: a write after retention expired it must not recreate it without a TTL.
export const SET_WEBHOOK_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'webhook', ARGV[1])
return 1`);
