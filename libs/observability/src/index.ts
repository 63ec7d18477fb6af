export { ObservabilityModule } from './observability.module';
export { MetricsRegistry } from './metrics-registry';
export { LoggingModule, REQUEST_ID_HEADER, loggerParams, pinoLevel, requestId } from './logging.module';
