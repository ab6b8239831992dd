import { HttpStatus, INestApplication } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AuthModule } from '../auth/auth.module';
import { loadConfig } from '../config/app-config';
import { AppConfigModule } from '../config/app-config.module';
import { RedisConnection } from '../redis/redis-connection';
import { RedisModule } from '../redis/redis.module';
import { HealthModule } from './health.module';
import { checkTimeoutMs, RedisHealthIndicator } from './health-indicators';

const up = { status: 'up' };

describe('HealthController (real embedded Redis, fake sandbox)', () => {
  let connection: RedisConnection;
  let dataDir: string;
  let app: INestApplication;
  const sandbox = { isHealthy: jest.fn<Promise<boolean>, []>() };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pyexec-health-spec-'));
    connection = await RedisConnection.start({ redisSentinelName: 'mymaster', redisCommandTimeoutMs: 1000, dataDir });
    const moduleRef = await Test.createTestingModule({
      imports: [
        AppConfigModule.forRoot(loadConfig({ API_KEYS: 'health-spec-key', BUILD_NUMBER: 'test' })),
        RedisModule.forRoot(connection),
        AuthModule,
        HealthModule.register({ sandboxHealth: { useValue: sandbox } }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
    await connection.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => sandbox.isHealthy.mockReset().mockResolvedValue(true));

  it('GET /health/live answers 200 without an API key', async () => {
    const response = await request(app.getHttpServer()).get('/health/live').expect(HttpStatus.OK, { status: 'ok' });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('GET /health/ready answers 200 when Redis and the sandbox are up', async () => {
    await request(app.getHttpServer())
      .get('/health/ready')
      .expect(HttpStatus.OK, {
        status: 'ok',
        info: { redis: up, sandbox: up },
        error: {},
        details: { redis: up, sandbox: up },
      });
  });

  it('GET /health/ready answers 503 naming the sandbox when it is down', async () => {
    sandbox.isHealthy.mockResolvedValue(false);
    const down = { status: 'down' };
    await request(app.getHttpServer())
      .get('/health/ready')
      .expect(HttpStatus.SERVICE_UNAVAILABLE, {
        status: 'error',
        info: { redis: up },
        error: { sandbox: down },
        details: { redis: up, sandbox: down },
      });
  });

  it('hides why a check threw', async () => {
    sandbox.isHealthy.mockRejectedValue(new Error('spawn /secret/path ENOENT'));
    const response = await request(app.getHttpServer()).get('/health/ready').expect(HttpStatus.SERVICE_UNAVAILABLE);
    expect(response.body.error).toEqual({ sandbox: { status: 'down', message: 'check failed' } });
    expect(JSON.stringify(response.body)).not.toContain('secret');
  });
});

describe('RedisHealthIndicator timeouts', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports a check that does not answer in time as down', async () => {
    const hangingRedis = { ping: () => new Promise<'PONG'>(() => undefined) };
    const report = new RedisHealthIndicator(new HealthIndicatorService(), hangingRedis).check();
    await jest.advanceTimersByTimeAsync(checkTimeoutMs);
    expect(await report).toEqual({ redis: { status: 'down', message: `no answer within ${checkTimeoutMs} ms` } });
  });
});
