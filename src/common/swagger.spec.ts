import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { ApiOkResponse, ApiProperty } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { packageVersion } from '../config/build-info';
import { buildOpenApiDocument, setupSwagger } from './swagger';

class ZebraDto {
  @ApiProperty()
  stripes: number;
}

class AardvarkDto {
  @ApiProperty()
  snout: string;
}

@Controller()
class UnsortedController {
  @Get('zoo/zebra')
  @ApiOkResponse({ type: ZebraDto })
  zebra(): ZebraDto {
    return { stripes: 1 };
  }

  @Get('aardvark')
  @ApiOkResponse({ type: AardvarkDto })
  aardvark(): AardvarkDto {
    return { snout: 'long' };
  }

  @Get('Zoo')
  upper(): string {
    return 'Z';
  }
}

@Module({ controllers: [UnsortedController] })
class UnsortedModule {}

describe('swagger', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [UnsortedModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    setupSwagger(app);
    await app.init();
  });
  afterAll(() => app.close());

  it('builds the document with both security schemes, the tags, the package version, a license and a server', () => {
    const document = buildOpenApiDocument(app);
    expect(document.info).toMatchObject({ title: 'Python Execution Service', version: packageVersion() });
    expect(document.components?.securitySchemes).toEqual({
      'api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(document.tags?.map((tag) => tag.name)).toEqual(['execution', 'jobs', 'editor', 'runtime', 'health']);
    expect(document.info.license?.name).toMatch(/UNLICENSED/);
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
  });

  it('sorts paths and schemas by code unit, whatever the declaration order', () => {
    const document = buildOpenApiDocument(app);
    expect(Object.keys(document.paths)).toEqual(['/Zoo', '/aardvark', '/zoo/zebra']);
    expect(Object.keys(document.components?.schemas ?? {})).toEqual(['AardvarkDto', 'ZebraDto']);
  });

  it('serves the document at /docs-json with a request id', async () => {
    const response = await request(app.getHttpServer()).get('/docs-json').set('x-request-id', 'docs-1').expect(200);
    expect(response.headers['x-request-id']).toBe('docs-1');
    expect(Object.keys(response.body.paths)).toEqual(['/Zoo', '/aardvark', '/zoo/zebra']);
  });

  it('serves Swagger UI at /docs with a request id', async () => {
    const response = await request(app.getHttpServer()).get('/docs').expect(200);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.text).toContain('swagger-ui');
    const init = await request(app.getHttpServer()).get('/docs/swagger-ui-init.js').expect(200);
    expect(init.text).toMatch(/"persistAuthorization":\s*true/);
  });
});
