import { Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { RejectionReprocessor } from '@order-pipeline/processing';
import type { DeadLetterQueue } from '@order-pipeline/sqs';
import { AdminController } from './admin.controller';

/** An admin controller over a dead-letter queue whose every call fails with `error`. */
function failingWith(error: Error): AdminController {
  const fail = (): Promise<never> => Promise.reject(error);
  const queue = { peek: fail, redrive: fail } as unknown as DeadLetterQueue;
  return new AdminController(queue, {} as RejectionReprocessor);
}

/** What the AWS SDK throws when the endpoint refuses the connection. */
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), {
  name: 'Error',
  code: 'ECONNREFUSED',
});

describe('AdminController', () => {
  it.each([
    ['peek', (c: AdminController) => c.peek({ limit: 1 })],
    ['redrive', (c: AdminController) => c.redrive({ limit: 1 })],
  ])(
    'answers a %s the queue does not answer with a 503 that names the queue, and logs the cause',
    async (_name, call) => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const answer = call(failingWith(refused));
      await expect(answer).rejects.toBeInstanceOf(ServiceUnavailableException);
      await expect(answer).rejects.toThrow(/^the SQS queue did not answer \(Error\); retry later$/);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('connect ECONNREFUSED 127.0.0.1:4566'));
      warn.mockRestore();
    },
  );

  it('passes an HTTP error of the queue (no dead-letter queue) through as it is', async () => {
    const missing = new NotFoundException('the orders queue has no dead-letter queue');
    await expect(failingWith(missing).peek({ limit: 1 })).rejects.toBe(missing);
  });

  it('passes a programming error through, for the filter to log as a 500', async () => {
    const bug = new TypeError('x is not a function');
    await expect(failingWith(bug).redrive({ limit: 1 })).rejects.toBe(bug);
  });
});
