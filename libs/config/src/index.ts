export { ConfigModule } from './config.module';
export { APP_CONFIG } from './tokens';
export { loadConfig, ConfigError } from './app-config';
export type { AppConfig } from './app-config';
