export { StatsModule } from './stats.module';
export {
  HttpErrorFilter,
  bodyReadable,
  createValidationPipe,
  decodablePath,
  deferBodyError,
  hasUndecodablePath,
  routeMethodsOf,
} from './http-errors';
export type { RouterStack } from './http-errors';
export { PublicRoute, documentReadAccess } from './api-keys';
export { ParameterException } from './parameter-exception';
