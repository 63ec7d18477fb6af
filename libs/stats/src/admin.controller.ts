import { applyDecorators, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { RejectionReprocessor, type ReprocessResult } from '@order-pipeline/processing';
import { DeadLetterQueue, type DeadLetterPeek, type RedriveResult } from '@order-pipeline/sqs';
import {
  DeadLetterPeekDto,
  DeadLetterQueryDto,
  RedriveQueryDto,
  RedriveResultDto,
  ReprocessResultDto,
} from './admin.dto';
import { AdminRoute } from './api-keys';
import { ApiPathId, PathId } from './query.dto';
import { ErrorDto } from './response.dto';

/** The POST routes take no body, but one sent is still read (and refused as any body would be). */
const ApiBodyRefusals = (): MethodDecorator =>
  applyDecorators(
    ApiPayloadTooLargeResponse({
      type: ErrorDto,
      description: 'A body over HTTP_BODY_LIMIT_BYTES (this route takes none).',
    }),
    ApiUnsupportedMediaTypeResponse({
      type: ErrorDto,
      description: 'A body in a charset or content encoding the app does not read.',
    }),
  );

/** Operator tools: look at and move back dead letters, reprocess a rejected order. ADMIN_API_KEY only. */
@ApiTags('admin')
@AdminRoute()
@Controller()
export class AdminController {
  constructor(
    private readonly deadLetters: DeadLetterQueue,
    private readonly reprocessor: RejectionReprocessor,
  ) {}

  @Get('admin/dead-letters')
  @ApiOperation({
    summary: 'Peek at the dead-letter queue without consuming it',
    description: 'One receive with VisibilityTimeout 0; nothing is deleted. Bodies are cut to REJECTED_BODY_MAX_BYTES.',
  })
  @ApiOkResponse({ type: DeadLetterPeekDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'The orders queue has no dead-letter queue.' })
  @ApiBadRequestResponse({ type: ErrorDto, description: '`limit` is invalid; `parameter` names it.' })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'The queue does not answer; retry later.' })
  peek(@Query() q: DeadLetterQueryDto): Promise<DeadLetterPeek> {
    return this.deadLetters.peek(q.limit);
  }

  @Post('admin/dead-letters/redrive')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Move dead letters back to the orders queue',
    description:
      'Up to `limit` messages: each is sent to the orders queue (keeping its original message id) and then deleted from the dead-letter queue. They go through the exactly-once path again: an order already applied counts as a duplicate, never twice.',
  })
  @ApiOkResponse({ type: RedriveResultDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'The orders queue has no dead-letter queue.' })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: '`limit` is invalid, or a body was sent that cannot be read (`body`); `parameter` names which.',
  })
  @ApiBodyRefusals()
  @ApiServiceUnavailableResponse({
    type: ErrorDto,
    description: 'The queue does not answer; retry later (messages moved before it stopped answering stay moved).',
  })
  redrive(@Query() q: RedriveQueryDto): Promise<RedriveResult> {
    return this.deadLetters.redrive(q.limit);
  }

  @Post('orders/rejected/:order_id/reprocess')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Process the stored message of a rejected order again (after a rule was fixed)',
    description:
      'The latest rejected or conflicting message of the order is run through the same exactly-once path under its own message id: it can never be applied twice. When it is applied now, its record leaves the rejected list.',
  })
  @ApiOkResponse({ type: ReprocessResultDto })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No rejected or conflicting message is stored for this order.' })
  @ApiUnprocessableEntityResponse({ type: ErrorDto, description: 'The stored body was cut (REJECTED_BODY_MAX_BYTES).' })
  @ApiConflictResponse({ type: ErrorDto, description: 'Another reprocess of this order is running (on any instance).' })
  @ApiServiceUnavailableResponse({
    type: ErrorDto,
    description: 'Redis (or the guard under the hold policy) is unavailable.',
  })
  @ApiBadRequestResponse({
    type: ErrorDto,
    description: '`order_id` is invalid, or a body was sent that cannot be read (`body`); `parameter` names which.',
  })
  @ApiBodyRefusals()
  @ApiPathId('order_id')
  reprocess(@PathId('order_id') order_id: string): Promise<ReprocessResult> {
    return this.reprocessor.reprocess(order_id);
  }
}
