import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { packageVersion } from '../config/build-info';
import { declareResponseHeaders } from './openapi-headers';
import { RequestIdMiddleware } from './request-id.middleware';

const description = [
  'Runs untrusted Python snippets in a sandbox (bubblewrap namespaces, rlimits, no network).',
  '',
  'Two dialects share one engine: **v1** (`/v1/...`, every body is the v1 envelope) and the **editor** dialect',
  '(`/api/v1/python/...`, `{ "success": ... }` bodies). Authenticate with `x-api-key: <key>` or',
  '`Authorization: Bearer <key>`; health and docs need no key. Every response carries `x-request-id`.',
].join('\n');

function byKey<T>(record: Record<string, T>): Record<string, T> {
  // Code-unit order, not localeCompare: the committed file must not depend on the machine's locale.
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The OpenAPI document of the app's decorators, with paths and schemas sorted so the output is stable. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Python Execution Service')
    .setVersion(packageVersion())
    .setDescription(description)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key' }, 'api-key')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'The same API key, as a bearer token' },
      'bearer',
    )
    .addTag('execution', 'Run Python code (v1)')
    .addTag('jobs', 'Follow, list and cancel jobs (v1)')
    .addTag('editor', 'Editor-automation dialect (`{ success: ... }` bodies)')
    .addTag('runtime', 'What code can count on here')
    .addTag('health', 'Liveness and readiness probes')
    // package.json's "UNLICENSED" (proprietary, no licence granted); the link says what the term means.
    .setLicense('UNLICENSED (proprietary)', 'https://docs.npmjs.com/cli/v10/configuring-npm/package-json#license')
    // Relative: Swagger UI and SDKs call the origin that served the document.
    .addServer('/', 'The service that serves this document')
    .build();
  const document = declareResponseHeaders(SwaggerModule.createDocument(app, config));
  const schemas = document.components?.schemas;
  return {
    ...document,
    paths: byKey(document.paths),
    components: { ...document.components, ...(schemas && { schemas: byKey(schemas) }) },
  };
}

/** Serves Swagger UI at /docs and the live document at /docs-json; call before app.init()/listen(). */
export function setupSwagger(app: INestApplication, document: OpenAPIObject = buildOpenApiDocument(app)): void {
  // These routes are mounted ahead of Nest's middleware, so they get their request id here.
  const requestId = new RequestIdMiddleware();
  app.use(['/docs', '/docs-json', '/docs-yaml'], requestId.use.bind(requestId));
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Python Execution Service',
    swaggerOptions: { persistAuthorization: true },
  });
}
