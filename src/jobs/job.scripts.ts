import { LuaScript } from '../redis/lua-script';

// The job core's atomic steps, one round trip each (job.repository.ts calls them).

// A new record, its owner-index entry, and its entry in the unqueued set (left when a worker takes the
// job, or by the reconciler once it has found the job in Bull); the index loses entries older than its
// window and gets its TTL renewed. With an Idempotency-Key (KEYS[4]) in the same step: if the key
// already names a job that still exists, nothing is written and its value ("<request hash> <job id>")
// is the answer; else the key is set to ARGV[5] for ARGV[6] seconds. Answers 1 when created.
// KEYS: record, owner index, unqueued set[, idempotency key]. ARGV: created_at, job id, "(" + oldest
// score kept, index window ms, idempotency value, idempotency TTL s, job-key prefix, then the record's
// fields and values.
export const CREATE_SCRIPT = new LuaScript(`
if KEYS[4] then
  local earlier = redis.call('GET', KEYS[4])
  if earlier then
    local earlier_job = string.match(earlier, ' (.+)$')
    if earlier_job and redis.call('EXISTS', ARGV[7] .. earlier_job) == 1 then return earlier end
  end
  redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
  redis.call('HSET', KEYS[1], 'idempotency_key', KEYS[4])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1`);

// Undoes CREATE_SCRIPT for a job that never reached the queue (its Bull add failed, or its process died
// before it): the record, its index entries, and its Idempotency-Key (named in the record) if that
// still names this job. Only while the job is pending: a job a worker took stays. Answers 1 when removed.
// KEYS: record, owner index, unqueued set. ARGV: job id.
export const ABANDON_SCRIPT = new LuaScript(`
redis.call('ZREM', KEYS[3], ARGV[1])
local status, idem = unpack(redis.call('HMGET', KEYS[1], 'status', 'idempotency_key'))
if status ~= 'pending' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if idem then
  local value = redis.call('GET', idem)
  if value and string.sub(value, -string.len(ARGV[1]) - 1) == ' ' .. ARGV[1] then redis.call('DEL', idem) end
end
return 1`);

// pending -> running, atomically. 'running' -> 'running' is a re-run after a stalled worker; a job
// whose cancellation was requested (its worker may have died meanwhile) does not start.
// Answers 1 when started, 0 when the job ended, 2 when its cancellation was requested. A job a worker
// took was in the queue: it leaves the unqueued set either way.
// A Lua function, so that a script that routes a job can start it in the same step (session.scripts.ts).
export const START_JOB_LUA = `
local function start_job(record, unqueued, started_at, job_id)
  redis.call('ZREM', unqueued, job_id)
  local status, cancel = unpack(redis.call('HMGET', record, 'status', 'cancel_requested'))
  if status ~= 'pending' and status ~= 'running' then return 0 end
  if cancel == '1' then return 2 end
  redis.call('HSET', record, 'status', 'running', 'started_at', started_at)
  return 1
end`;

// KEYS: record, unqueued set (JobRepository.startKeys). ARGV: started_at, job id.
export const START_SCRIPT = new LuaScript(`${START_JOB_LUA}
return start_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2])`);

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
// queue_length, event stream MAXLEN.
// KEYS: record, webhook outbox, unqueued set, event stream.
export const FINISH_SCRIPT = new LuaScript(`
redis.call('ZREM', KEYS[3], ARGV[6])
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
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', 't', 'status', 'd', ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', 't', 'end', 'd', '')
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {'created_at', fields[2], 'started_at', fields[3], 'webhook', fields[4], 'owner', fields[5],
  'endpoint', fields[6], 'client_id', fields[7], 'cancel_requested', fields[8], 'queue_ms', queue_ms,
  'run_ms', run_ms, 'queue_length', queue_length}`);

// Only while the record exists: a write after retention expired it must not recreate it without a TTL.
export const SET_WEBHOOK_SCRIPT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'webhook', ARGV[1])
return 1`);
