export { StatsModule } from './stats.module';
export { HttpErrorFilter, createValidationPipe } from './http-errors';
