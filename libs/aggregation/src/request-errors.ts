/**
 * What the request paths (reads, operator tools) refuse with, for the one exception filter
 * to answer (libs/stats HttpErrorFilter): domain errors, not HTTP exceptions, so the
 * services stay free of HTTP and the status is decided in one place. NotFoundError
 * (stats-queries.ts) is one more.
 */

/** The request conflicts with work in progress (409). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The request is well formed, but what it names cannot be done (422). */
export class UnprocessableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnprocessableError';
  }
}

/** A dependency (the queue, the store, the model) cannot serve the request now (503). */
export class UnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** Too many reads wait for their turn (ReadBudget): a 503 for a moment, with Retry-After. */
export class BusyError extends UnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'BusyError';
  }
}
