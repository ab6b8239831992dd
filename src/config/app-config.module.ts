import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfig, loadConfig } from './app-config';

/**
 * Makes the one AppConfig of the process injectable everywhere, and @nestjs/config's ConfigService
 * (global) with the validated EnvironmentVariables it was mapped from.
 */
@Global()
@Module({})
export class AppConfigModule {
  // main.ts loads the config before Nest starts (Redis needs it), so it is passed in rather than reloaded.
  static forRoot(config: AppConfig = loadConfig(process.env)): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true, // the environment only
          // Validated once, by loadConfig() with the same validate() (main.ts: from process.env, before Nest):
          // not again here, and not through `validate`, which would copy every default into process.env.
          validatePredefined: false,
          skipProcessEnv: true, // ConfigService answers with validated values only, never raw process.env
          load: [() => ({ ...config.environment })],
        }),
      ],
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig],
    };
  }
}
