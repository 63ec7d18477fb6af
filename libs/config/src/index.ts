export { ConfigModule } from './config.module';
export { APP_CONFIG } from './tokens';
export { Clock, SystemClock } from './clock';
export { loadConfig, ConfigError } from './app-config';
export type { AppConfig } from './app-config';
