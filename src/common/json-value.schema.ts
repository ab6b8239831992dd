import type { ApiPropertyOptions } from '@nestjs/swagger';

/** "Any JSON value": what a run's result may be (dict, list, string, number, boolean or null). */
export const jsonValueProperty: ApiPropertyOptions = {
  oneOf: [
    { type: 'object', nullable: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
};
