export { RedisModule } from './redis.module';
export { RedisService } from './redis.service';
export type { ReadCommand, ScriptAnswer, ScriptCall, ScriptRunner } from './redis.service';
