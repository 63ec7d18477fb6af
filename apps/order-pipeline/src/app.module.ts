import { Module } from '@nestjs/common';
import { ConfigModule } from '@order-pipeline/config';
import { RedisModule } from '@order-pipeline/redis';
import { OrderQueueModule } from '@order-pipeline/sqs';
import { StatsModule } from '@order-pipeline/stats';

/** Wiring only: configuration, Redis, the queue consumer and the HTTP read side. */
@Module({
  imports: [ConfigModule, RedisModule, OrderQueueModule, StatsModule],
})
export class AppModule {}
