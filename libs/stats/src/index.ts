export { StatsModule } from './stats.module';
export { HttpErrorFilter, createValidationPipe, routeMethodsOf } from './http-errors';
export { PublicRoute } from './api-keys';
export { ParameterException } from './parameter-exception';
