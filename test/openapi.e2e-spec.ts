import { readFileSync } from 'node:fs';
import { generateOpenApiDocument, openApiPath, serializeOpenApi } from '../src/openapi';

describe('openapi/openapi.json', () => {
  it('equals what the decorators generate', async () => {
    const generated: unknown = JSON.parse(serializeOpenApi(await generateOpenApiDocument()));
    let committedText = '';
    try {
      committedText = readFileSync(openApiPath, 'utf8');
    } catch {
      throw new Error(`${openApiPath} is missing: run npm run openapi`);
    }
    const committed: unknown = JSON.parse(committedText);
    try {
      expect(generated).toEqual(committed);
      expect(committedText).toBe(serializeOpenApi(committed as never));
    } catch (error) {
      throw new Error(`openapi/openapi.json is out of date: run npm run openapi\n\n${(error as Error).message}`);
    }
  });
});
