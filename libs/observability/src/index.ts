export { ObservabilityModule } from './observability.module';
export { MetricsRegistry } from './metrics-registry';
export {
  LoggingModule,
  ROOT_LOGGER,
  loggerOptions,
  requestContextAfterBody,
  requestLogger,
  startupLogger,
} from './logging.module';
