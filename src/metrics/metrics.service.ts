import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PythonRunner } from '../execution/runner/python-runner';
import { ExecutionQueue } from '../jobs/execution.queue';
import { JobLifecycle } from '../jobs/job-lifecycle';
import { RunningJobs } from '../jobs/running-jobs';
import { answerOf } from '../jobs/outcome-answer';
import { SessionEndings } from '../sessions/session-endings';
import { SessionRepository } from '../sessions/session.repository';

export type WebhookOutcome = 'delivered' | 'retried' | 'failed';

/**
 * Prometheus metrics of this process. Counters count what this process did (a job is counted by
 * the process that wrote its final state); gauges about the queue are cluster-wide.
 * One registry per app instance, so several apps in one process (tests) do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly executions = new Counter({
    name: 'pyexec_executions_total',
    help: 'Jobs that ended, by final status and envelope code',
    labelNames: ['outcome', 'code'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'pyexec_execution_duration_seconds',
    help: 'Run time of ended jobs in the sandbox (excludes queue time)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly webhooks = new Counter({
    name: 'pyexec_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly sessionsEnded = new Counter({
    name: 'pyexec_sessions_ended_total',
    help: 'Sessions this process ended, by ended_reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(
    lifecycle: JobLifecycle,
    queue: ExecutionQueue,
    running: RunningJobs,
    runner: PythonRunner,
    sessions: { endings: SessionEndings; repository: SessionRepository },
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'pyexec_' });
    sessions.endings.onEnded((reason) => this.sessionsEnded.inc({ reason }));
    new Gauge({
      name: 'pyexec_sessions_open',
      help: 'Sessions alive on live workers (all processes)',
      registers: [this.registry],
      async collect() {
        this.set(await sessions.repository.openCount());
      },
    });
    lifecycle.onEnded((record) => {
      const code = record.outcome ? answerOf(record.outcome.ending).status : 0;
      this.executions.inc({ outcome: record.status, code: String(code) });
      if (record.runTimeSec !== null) this.duration.observe(record.runTimeSec);
    });
    new Gauge({
      name: 'pyexec_queue_depth',
      help: 'Jobs waiting in the executions queue (all processes)',
      registers: [this.registry],
      async collect() {
        this.set(await queue.waitingCount());
      },
    });
    new Gauge({
      name: 'pyexec_active_jobs',
      help: 'Jobs being run by workers (all processes)',
      registers: [this.registry],
      async collect() {
        this.set(await queue.activeCount());
      },
    });
    new Gauge({
      name: 'pyexec_worker_running_jobs',
      help: 'Jobs this process is running now',
      registers: [this.registry],
      collect() {
        this.set(running.ids().length);
      },
    });
    const pool = (name: string, help: string, pick: (s: ReturnType<PythonRunner['stats']>) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(runner.stats()));
        },
      });
    pool('pyexec_sandbox_servers', 'Live fork servers of this process', (s) => s.servers);
    pool('pyexec_sandbox_busy_servers', 'Fork servers running a job now', (s) => s.busy);
    pool('pyexec_sandbox_waiting_runs', 'Runs waiting for a free fork server', (s) => s.waiting);
    pool('pyexec_sandbox_restarts', 'Fork servers replaced since start (died or recycled)', (s) => s.restarts);
  }

  recordWebhook(outcome: WebhookOutcome): void {
    this.webhooks.inc({ outcome });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
