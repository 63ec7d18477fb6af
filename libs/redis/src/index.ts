export { RedisModule } from './redis.module';
export { RedisService } from './redis.service';
export type { ScriptAnswer, ScriptCall, ScriptRunner } from './redis.service';
