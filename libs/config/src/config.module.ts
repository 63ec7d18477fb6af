import { Global, Module } from '@nestjs/common';
import { APP_CONFIG } from './tokens';
import { Clock, SystemClock } from './clock';
import { loadConfig } from './app-config';

/** Provides the validated AppConfig under APP_CONFIG, and the Clock, to every module. */
@Global()
@Module({
  providers: [
    { provide: APP_CONFIG, useFactory: () => loadConfig() },
    { provide: Clock, useClass: SystemClock },
  ],
  exports: [APP_CONFIG, Clock],
})
export class ConfigModule {}
