import { KEY, OTHER_KEY, startTestApp, TestApp, waitFor } from './utils';

const EXEC = '/v1/code/execute/python';
const BACKLOG = 30;

type JobView = { job_id: string; status: string; started_at: string | null; ended_at: string | null };

// Fair dispatch between keys, observed from outside: the order jobs start in, not how long they take.
describe('fairness between API keys (real Redis, real sandbox)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SANDBOX_SERVERS: '2', WORKER_CONCURRENCY: '2' });
  });
  afterAll(() => t.close());

  const submit = (body: object, key: string) => t.http.post(EXEC).set('x-api-key', key).send(body);
  const view = async (id: string, key: string): Promise<JobView> =>
    (await t.http.get(`/v1/jobs/${id}`).set('x-api-key', key)).body.response as JobView;
  const ended = (job: JobView) => ['completed', 'failed', 'cancelled'].includes(job.status);
  const pendingOf = async (key: string): Promise<string[]> =>
    (await t.http.get('/v1/jobs?status=pending&limit=100').set('x-api-key', key)).body.response.jobs.map(
      (j: JobView) => j.job_id,
    );

  it("one key's backlog does not hold another key's sync call behind it; a backlogged job can be cancelled; nothing is lost", async () => {
    // Both slots busy first, so the whole backlog is queued before any of it runs: the order is then exact.
    const blockers: string[] = [];
    for (let i = 0; i < 2; i++)
      blockers.push((await submit({ code: 'import time\ntime.sleep(60)', async: true }, KEY)).body.job_id);
    await waitFor('both slots busy', async () => {
      const jobs = await Promise.all(blockers.map((id) => view(id, KEY)));
      return jobs.every((j) => j.status === 'running');
    });
    const backlog: string[] = [];
    for (let i = 0; i < BACKLOG; i++) {
      const res = await submit({ code: 'import time\ntime.sleep(0.1)', async: true }, KEY);
      expect(res.status).toBe(202);
      backlog.push(res.body.job_id);
    }

    // Key B's sync call, queued behind A's 30 jobs; then the slots free up.
    const call = submit({ code: '6 * 7' }, OTHER_KEY).then((r) => r); // supertest sends on then()
    const bJob = await waitFor('B queued', async () => (await pendingOf(OTHER_KEY))[0]);
    const lastOfA = backlog[BACKLOG - 1];
    expect(await pendingOf(KEY)).toContain(lastOfA); // a backlogged job is listed as pending
    const cancel = await t.http.delete(`/v1/jobs/${lastOfA}`).set('x-api-key', KEY);
    expect(cancel.status).toBe(200);
    expect(cancel.body.response).toMatchObject({ status: 'cancelled', started_at: null });
    for (const id of blockers) expect((await t.http.delete(`/v1/jobs/${id}`).set('x-api-key', KEY)).status).toBe(200);

    const answer = await call;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ job_id: bJob, response: { result: 42 } });

    const jobsOfA = await waitFor(
      "A's backlog ended",
      async () => {
        const jobs = await Promise.all(backlog.map((id) => view(id, KEY)));
        return jobs.every(ended) && jobs;
      },
      60_000,
    );
    // Nothing lost: every job of the backlog ran, except the one cancelled, which never started.
    expect(jobsOfA.filter((j) => j.status === 'completed')).toHaveLength(BACKLOG - 1);
    expect(await view(lastOfA, KEY)).toMatchObject({ status: 'cancelled', started_at: null });

    // B's job took the next turn: at most one job of A (the one holding the same turn) started before it.
    const bStarted = Date.parse((await view(bJob, OTHER_KEY)).started_at as string);
    const aheadOfB = jobsOfA.filter((j) => j.started_at && Date.parse(j.started_at) < bStarted);
    expect(aheadOfB.length).toBeLessThanOrEqual(2);

    // A key alone still gets the whole capacity: A's jobs ran two at a time.
    const runs = jobsOfA
      .filter((j) => j.status === 'completed')
      .map((j) => [Date.parse(j.started_at as string), Date.parse(j.ended_at as string)]);
    const overlapping = runs.filter(([start, end], i) => runs.some(([s, e], k) => k !== i && s < end && start < e));
    expect(overlapping.length).toBeGreaterThan(0);
  }, 120_000);
});
