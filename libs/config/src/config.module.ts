import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from './tokens';
import { loadConfig } from './app-config';

/** Provides the validated AppConfig under APP_CONFIG to every module. */
@Global()
@Module({
  providers: [{ provide: APP_CONFIG, useFactory: () => loadConfig() }],
  exports: [APP_CONFIG],
})
export class ConfigModule {}
