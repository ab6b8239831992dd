import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig, loadConfig } from './app-config';

/** Makes the one AppConfig of the process injectable everywhere, by its class. */
@Global()
@Module({})
export class AppConfigModule {
  // main.ts loads the config before Nest starts (Redis needs it), so it is passed in rather than reloaded.
  static forRoot(config: AppConfig = loadConfig(process.env)): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig],
    };
  }
}
