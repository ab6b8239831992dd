import type { ExampleSet } from '../../common/envelope.examples';

/** Request bodies that run as they are in Swagger UI. */
export const sessionRequestExamples: ExampleSet = {
  default: { summary: 'A session that ends after 10 idle minutes', value: { ttl: 600, id: 'notebook-1' } },
};

export const sessionExecuteExamples: ExampleSet = {
  define: {
    summary: 'Define state: later calls see `data`',
    value: { code: 'data = [3, 1, 2]\nlen(data)', timeout: 10 },
  },
  use: { summary: 'Use it: the session kept it', value: { code: 'data.append(4)\nsorted(data)', timeout: 10 } },
};
