import { Inject, Injectable } from '@nestjs/common';
import { QUEUE_TARGET, queueAnswers, type QueueTarget } from './queue-target';

@Injectable()
export class QueueHealth {
  constructor(@Inject(QUEUE_TARGET) private readonly target: QueueTarget) {}

  isHealthy(): Promise<boolean> {
    return queueAnswers(this.target);
  }
}
