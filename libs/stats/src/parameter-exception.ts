import { BadRequestException } from '@nestjs/common';

/** A 400 that names the parameter at fault (HttpErrorFilter puts it in the body's `parameter`). */
export class ParameterException extends BadRequestException {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}
