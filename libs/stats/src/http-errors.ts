import {
  ArgumentsHost,
  type ArgumentMetadata,
  Catch,
  HttpException,
  Logger,
  ValidationPipe,
  type ExceptionFilter,
  type ValidationError,
} from '@nestjs/common';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { getMetadataStorage, validateSync, type ValidatorOptions } from 'class-validator';
import {
  BusyError,
  ConflictError,
  InvalidQueryError,
  NotFoundError,
  UnavailableError,
  UnprocessableError,
} from '@order-pipeline/aggregation';
import type { Request, Response } from 'express';
import { ParameterException } from './parameter-exception';

/**
 * The request pipe: validates query and body DTOs, applies their defaults, refuses
 * unknown query parameters, and turns the first problem into a 400 naming the field.
 */
export function createValidationPipe(): ValidationPipe {
  return new StrictQueryValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors: ValidationError[]) => {
      const first = errors[0];
      const message = first?.constraints
        ? Object.values(first.constraints)[0]
        : `${first?.property ?? 'request'} is invalid`;
      const parameter = first?.property ?? 'request';
      return new ParameterException(
        parameter,
        message?.startsWith('property ') ? `unknown parameter ${parameter}` : (message ?? 'invalid'),
      );
    },
  });
}

/** Passed queries kept per DTO class (see StrictQueryValidationPipe). */
const QUERIES_KEPT = 1_000;

/**
 * A copy with the same prototype, so a handler that changes its DTO changes no kept one.
 * Shallow: the query DTOs hold strings and numbers only (query.dto.ts).
 */
const copy = (dto: object): object => Object.assign(Object.create(Object.getPrototypeOf(dto) as object) as object, dto);

/**
 * class-validator's whitelist takes names such as "constructor" or "toString" for known
 * properties (they exist on every object), so unknown query keys are checked here first,
 * against the DTO's declared properties (read once per DTO class).
 *
 * The read path (docs/PERFORMANCE.md): clients ask the same few questions over and over
 * (no query at all, `?limit=10`, a dashboard's range), and a query always transforms to the
 * same DTO: the request DTOs' checks read nothing but the query itself (no clock, no
 * store). So the result of a query that passed is kept per DTO class, keyed by the query
 * as parsed, and the same query again gets a shallow copy instead of another round of
 * class-transformer and class-validator (about a tenth of a top-N request's CPU). At most
 * QUERIES_KEPT per class, the oldest dropped first. A query that fails is never kept: it
 * fails the normal way every time, with its 400.
 */
class StrictQueryValidationPipe extends ValidationPipe {
  private readonly knownKeys = new WeakMap<object, ReadonlySet<string>>();
  private readonly passed = new WeakMap<object, Map<string, object>>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const metatype = metadata.metatype;
    if (metadata.type !== 'query' || !metatype || typeof value !== 'object' || value === null) {
      return super.transform(value, metadata);
    }
    const keys = Object.keys(value);
    // Query values are strings or lists of strings (Express's simple parser): JSON is exact.
    const query = keys.length === 0 ? '' : JSON.stringify(value);
    let kept = this.passed.get(metatype);
    const hit = kept?.get(query);
    if (hit) return copy(hit);
    const unknown = keys.find((key) => !this.known(metatype).has(key));
    if (unknown?.includes('\uFFFD') === true) {
      // Express decodes a name that is not percent-encoded UTF-8 with replacement characters:
      // naming the parameter by them would tell the client nothing.
      throw new ParameterException('query', 'a query parameter name is not valid percent-encoded UTF-8');
    }
    if (unknown !== undefined) throw new ParameterException(unknown, `unknown parameter ${unknown}`);
    // Every parameter takes one value: `?from=a&from=b` is a list, which no check below names as such.
    const repeated = keys.find((key) => Array.isArray((value as Record<string, unknown>)[key]));
    if (repeated !== undefined) throw new ParameterException(repeated, `${repeated} is given more than once`);
    const result: unknown = await super.transform(value, metadata);
    if (typeof result === 'object' && result !== null) {
      if (!kept) this.passed.set(metatype, (kept = new Map<string, object>()));
      if (kept.size >= QUERIES_KEPT && !kept.has(query)) kept.delete(kept.keys().next().value ?? '');
      kept.set(query, copy(result));
    }
    return result;
  }

  /**
   * The request DTOs have no asynchronous constraint, so the synchronous validator gives the
   * same errors without class-validator's promise bookkeeping on every request.
   */
  protected override validate(object: object, options?: ValidatorOptions): ValidationError[] {
    return validateSync(object, options);
  }

  private known(metatype: object): ReadonlySet<string> {
    let known = this.knownKeys.get(metatype);
    if (!known) {
      known = new Set(
        getMetadataStorage()
          .getTargetValidationMetadatas(metatype as new () => object, '', true, false)
          .map((m) => m.propertyName),
      );
      this.knownKeys.set(metatype, known);
    }
    return known;
  }
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  parameter?: string;
}

/**
 * The one exception filter. Domain errors become 400/404 with a JSON body; a Redis
 * outage becomes 503; anything unexpected is logged and answered with a bare 500 (no
 * stack trace to clients).
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  /** `routeMethods`: the methods a path answers to (routeMethodsOf), for a 405 where a route has another method. */
  constructor(private readonly routeMethods: RouteMethods = () => []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const allowed = isUnrouted(exception, req.method) ? this.routeMethods(req.path) : [];
    if (allowed.length > 0 && req.method === 'OPTIONS') {
      // What the path allows (RFC 9110 §9.3.7), not an error; no CORS headers: the API is
      // served to its own origin.
      res
        .status(204)
        .setHeader('Allow', [...allowed, 'OPTIONS'].join(', '))
        .end();
      return;
    }
    if (allowed.length > 0) {
      res
        .status(405)
        .setHeader('Allow', allowed.join(', '))
        .json({
          statusCode: 405,
          error: 'Method Not Allowed',
          // The path as sent, not with decodablePath's stand-in.
          message: `${req.method} is not allowed on ${pathAsSent(req) ?? req.path}; allowed: ${allowed.join(', ')}`,
        } satisfies ErrorBody);
      return;
    }
    const body = this.toBody(exception, req);
    // A busy read is refused for a moment, not for good: say when to ask again.
    if (exception instanceof BusyError) res.setHeader('Retry-After', '1');
    res.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, req: Request): ErrorBody {
    if (exception instanceof ParameterException) {
      const { parameter } = exception;
      // The id's segment was not percent-encoded UTF-8 (decodablePath put a stand-in there).
      const message =
        PATH_IDS.has(parameter) && hasUndecodablePath(req)
          ? `${parameter} is not valid percent-encoded UTF-8`
          : exception.message;
      return { statusCode: 400, error: 'Bad Request', message, parameter };
    }
    if (exception instanceof InvalidQueryError) {
      return { statusCode: 400, error: 'Bad Request', message: exception.message, parameter: exception.parameter };
    }
    if (exception instanceof NotFoundError) {
      return { statusCode: 404, error: 'Not Found', message: exception.message };
    }
    if (exception instanceof ConflictError) {
      return { statusCode: 409, error: 'Conflict', message: exception.message };
    }
    if (exception instanceof UnprocessableError) {
      return { statusCode: 422, error: 'Unprocessable Entity', message: exception.message };
    }
    if (exception instanceof UnavailableError) {
      return { statusCode: 503, error: 'Service Unavailable', message: exception.message };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'object' && response !== null && 'message' in response
          ? String(response.message)
          : exception.message;
      return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    }
    if (isRedisUnavailable(exception)) {
      return {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'the statistics store is not reachable; try again shortly',
      };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { statusCode: 500, error: 'Internal Server Error', message: 'unexpected error' };
  }
}

/** The methods a request path answers to; empty when no route has the path. */
export type RouteMethods = (path: string) => readonly string[];

/** What routeMethodsOf reads of Express's router (router 2, Express 5). */
export interface RouterStack {
  stack: readonly {
    route?: { methods: Record<string, boolean | undefined> };
    match(path: string): unknown;
  }[];
}

/**
 * RouteMethods from Express's own router: every route Nest registered (the dashboard and
 * the Swagger routes too, which the OpenAPI document leaves out), matched by the router's
 * own matcher (case-sensitive, as configureApp sets it). A GET route answers HEAD too, as
 * Express does. Read on each call, so it sees routes added after the filter was made.
 */
export function routeMethodsOf(router: RouterStack): RouteMethods {
  return (path) => {
    const methods = new Set<string>();
    for (const layer of router.stack) {
      if (layer.route === undefined || !matches(layer, path)) continue;
      for (const [method, handled] of Object.entries(layer.route.methods)) {
        if (handled !== true || method === '_all') continue;
        methods.add(method.toUpperCase());
        if (method === 'get') methods.add('HEAD');
      }
    }
    return [...methods];
  };
}

function matches(layer: RouterStack['stack'][number], path: string): boolean {
  try {
    return Boolean(layer.match(path));
  } catch {
    return false; // a parameter that is not percent-encoded UTF-8
  }
}

/** Nest's answer when no route matched the method and path ("Cannot POST /x"), not a 404 of a route. */
function isUnrouted(exception: unknown, method: string): boolean {
  return (
    exception instanceof HttpException &&
    exception.getStatus() === 404 &&
    exception.message.startsWith(`Cannot ${method} `)
  );
}

/** Redis cannot serve right now: away, full (a ranged top-N writes a cache key), read-only, loading, cluster down. */
function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /Connection is closed|isn't ready|Command timed out|ECONNREFUSED|MaxRetriesPerRequest|Stream isn't writeable|ETIMEDOUT|ECONNRESET|^(OOM|READONLY|LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|BUSY|MOVED|ASK)\b|Too many Cluster redirections/i.test(
    error.message,
  );
}

const PATH_IDS = new Set(['user_id', 'order_id']);
/** The path as sent, on a request whose path decodablePath rewrote. */
const SENT_PATH = Symbol('path as sent');
/** Marks a request whose path held a segment that is not percent-encoded UTF-8. */
const UNDECODABLE_PATH = Symbol('undecodable path');
/** Decodes to U+0000, which no id may hold: the route's id pipe refuses it with a 400. */
const STAND_IN = '%00';

/**
 * Middleware: escaped unreserved characters in the path are decoded (ESCAPED_UNRESERVED), and
 * a path segment that is not percent-encoded UTF-8 is replaced by a stand-in
 * before Express's router sees it, and the request remembers it. Express's router would
 * answer such a path with a 400 before any route runs; this way the request is routed as
 * any other bad id is: a path no route has gets its 404, a wrong method its 405, the route's
 * guards their 401 and 429 (the admin rate limit counts it), and only then the id's pipe a
 * 400 that says what is wrong. The request log keeps the path as it was sent.
 */
export function decodablePath(req: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void {
  const url = req.url ?? '';
  if (!url.includes('%')) return next();
  // The path ends at the query or at a fragment (which a raw client may send).
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (path.includes('%')) {
    let replaced = false;
    const segments = path.split('/').map((segment) => {
      if (!segment.includes('%')) return segment;
      if (decodable(segment)) return segment.replace(ESCAPED_UNRESERVED, (escape) => decodeURIComponent(escape));
      replaced = true;
      return STAND_IN;
    });
    const routed = segments.join('/');
    if (routed !== path) {
      req.url = routed + (end === -1 ? '' : url.slice(end));
      (req as { [SENT_PATH]?: string })[SENT_PATH] = path;
    }
    if (replaced) (req as { [UNDECODABLE_PATH]?: boolean })[UNDECODABLE_PATH] = true;
  }
  next();
}

/**
 * An escaped unreserved character (RFC 3986 2.3) means the character itself (6.2.2.2):
 * `/stats/%67lobal` is `/stats/global`, which Express's router would not match. Letters,
 * digits, `-`, `_` and `~`; not `.`, which could turn a segment into a dot-segment.
 */
const ESCAPED_UNRESERVED = /%(?:3[0-9]|4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|2D|5F|7E)/gi;

function decodable(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** The path as sent when decodablePath rewrote it, else undefined. */
export function pathAsSent(req: object): string | undefined {
  return (req as { [SENT_PATH]?: string })[SENT_PATH];
}

/** Whether decodablePath put a stand-in for a segment that is not percent-encoded UTF-8. */
export function hasUndecodablePath(req: object): boolean {
  return (req as { [UNDECODABLE_PATH]?: boolean })[UNDECODABLE_PATH] === true;
}

const UNREADABLE_BODY = Symbol('unreadable request body');

/** Keeps a body-parser error with its request (configureApp), for bodyReadable to throw once a route has it. */
export function deferBodyError(req: object, error: HttpException): void {
  (req as { [UNREADABLE_BODY]?: HttpException })[UNREADABLE_BODY] = error;
}

/** True, or the request body's deferred error (deferBodyError) thrown. */
export function bodyReadable(req: object): true {
  const error = (req as { [UNREADABLE_BODY]?: HttpException })[UNREADABLE_BODY];
  if (error !== undefined) throw error;
  return true;
}
