import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { buildOpenApiDocument } from './common/swagger';
import { loadConfig } from './config/app-config';
import { RedisConnection } from './redis/redis-connection';

/** src/ and dist/ are both one level below the project root. */
export const openApiPath = join(__dirname, '..', 'openapi', 'openapi.json');

/**
 * Builds the document from the real module graph in Nest's preview mode: providers are never
 * instantiated, so nothing connects to Redis or starts a sandbox.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  const config = loadConfig({ API_KEYS: 'openapi', BUILD_NUMBER: 'openapi' });
  const appModule = AppModule.forRoot(config, RedisConnection.fromUrl('redis://127.0.0.1:6379'));
  const app = await NestFactory.create(appModule, { logger: false, preview: true, abortOnError: false });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

export function serializeOpenApi(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  const text = serializeOpenApi(await generateOpenApiDocument());
  mkdirSync(dirname(openApiPath), { recursive: true });
  writeFileSync(openApiPath, text);
  console.log(`wrote ${openApiPath}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
