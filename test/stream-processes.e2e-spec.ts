import { killService, ServiceProcess, startServiceProcess } from './service-process';
import { eventsUntilEnd, openEventSource, postEventStream, ReceivedEvent } from './support/sse-client';
import { deleteKeys, KEY, uniquePrefix } from './utils';

const stdout = (events: ReceivedEvent[]) =>
  events
    .filter((e) => e.event === 'stdout')
    .map((e) => JSON.parse(e.data) as string)
    .join('');

describe('live output across processes: two API processes, one worker (real processes, real sandbox)', () => {
  const prefix = uniquePrefix();
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    services = await Promise.all([
      startServiceProcess(prefix, { ROLE: 'api' }),
      startServiceProcess(prefix, { ROLE: 'api' }),
      startServiceProcess(prefix, { ROLE: 'worker' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const service of services) await killService(service);
    await deleteKeys(prefix);
  });

  it('a job streamed from one API process is followed live from the other, with the same events and ids', async () => {
    const [first, second] = services;
    let followed: Promise<ReceivedEvent[]> | undefined;
    const code = 'import time\nfor i in range(4):\n    print("line", i, flush=True)\n    time.sleep(0.15)\n"ok"';
    const posted = await postEventStream(`${first.url}/v1/code/execute/python`, KEY, { code }, (event) => {
      // As soon as the job is named, the other process follows it (it joins mid-run).
      if (!followed && event.event === 'status') {
        const { job_id: jobId } = JSON.parse(event.data) as { job_id: string };
        followed = eventsUntilEnd(openEventSource(`${second.url}/v1/jobs/${jobId}/events`, KEY));
      }
    });
    const other = await followed!;
    expect(stdout(posted.events)).toBe('line 0\nline 1\nline 2\nline 3\n');
    expect(other.map((e) => [e.id, e.event, e.data])).toEqual(
      posted.events.map((e) => [
        e.id,
        e.event,
        e.event === 'status' ? JSON.stringify({ status: JSON.parse(e.data).status }) : e.data,
      ]),
    );
    expect(JSON.parse(other[other.length - 1].data)).toMatchObject({ code: 200, response: { result: 'ok' } });
  });
});
