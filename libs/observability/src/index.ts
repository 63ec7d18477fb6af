export { ObservabilityModule } from './observability.module';
export { MetricsRegistry } from './metrics-registry';
export {
  LoggingModule,
  REQUEST_ID_HEADER,
  ROOT_LOGGER,
  loggerOptions,
  requestContextAfterBody,
  requestLogger,
  startupLogger,
} from './logging.module';
