import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { stopTracing } from './tracing-sdk';

/** Flushes the spans still buffered when Nest's shutdown hooks close the app (no-op when tracing is off). */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await stopTracing();
  }
}
