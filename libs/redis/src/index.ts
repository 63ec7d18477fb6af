export { RedisModule } from './redis.module';
export { RedisService } from './redis.service';
export type { ScriptRunner } from './redis.service';
