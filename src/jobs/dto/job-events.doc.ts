/** The OpenAPI description of a job's event stream (GET /v1/jobs/{job_id}/events, and a streaming submit). */
export const JOB_EVENTS_DESCRIPTION =
  'Events: `status` (data `{ "status": ... }`; the first is always `pending`, and a streaming submit adds `job_id`), ' +
  '`stdout` and `stderr` (data: a JSON string, the next chunk of output as written: a chunk ends at a newline, ' +
  '4 KiB or 50 ms; the output caps apply), and last `end` (data: the final v1 envelope, as GET /v1/jobs/{job_id} ' +
  'returns it in `result`); the server then closes the stream. Every event has an `id`: send it back as ' +
  '`Last-Event-ID` to resume after it. A client that comes late (even after the end, within the retention) gets the ' +
  'recorded events from the start. A comment line every 15 s keeps proxies from closing a quiet stream.';
