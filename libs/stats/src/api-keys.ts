import { createHash, timingSafeEqual } from 'node:crypto';
import {
  applyDecorators,
  ForbiddenException,
  Inject,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  type OpenAPIObject,
  type OperationObject,
} from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { APP_CONFIG, type AppConfig } from '@order-pipeline/config';
import { bodyReadable } from './http-errors';
import { ErrorDto } from './response.dto';

/** Who may call a route: anyone, holders of the read key (when one is set), holders of the admin key. */
export type RouteAccess = 'public' | 'read' | 'admin';

const ACCESS = 'order-pipeline:access';

/** Open to everyone, even with READ_API_KEY set (health probes). */
export const PublicRoute = (): MethodDecorator & ClassDecorator => SetMetadata(ACCESS, 'public');

/** The 429's header: when a request from this address is taken again. */
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds until a request is taken again.', schema: { type: 'integer' } },
};

/**
 * Needs ADMIN_API_KEY (x-api-key or Authorization: Bearer); disabled (403) while it is unset;
 * rate-limited per client address (ADMIN_RATE_LIMIT_PER_MINUTE).
 */
export const AdminRoute = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS, 'admin'),
    ApiSecurity('api-key'),
    ApiBearerAuth('bearer'),
    ApiUnauthorizedResponse({ type: ErrorDto, description: 'No key, or not the admin key.' }),
    ApiForbiddenResponse({ type: ErrorDto, description: 'Admin routes are disabled: ADMIN_API_KEY is not set.' }),
    ApiTooManyRequestsResponse({
      type: ErrorDto,
      description: 'More than ADMIN_RATE_LIMIT_PER_MINUTE requests.',
      headers: RETRY_AFTER,
    }),
  );

/** The 401 of a read route, by which documentReadAccess knows one in the OpenAPI document. */
const READ_KEY_REFUSED = 'The request has no key, or another key than the read or the admin key.';
const READ_KEY_GUESSES =
  'Too many wrong keys from this address: they count against ADMIN_RATE_LIMIT_PER_MINUTE, as admin requests do.';

/**
 * Says in the OpenAPI document what the read routes need in this deployment: with
 * READ_API_KEY set, a key (the read or the admin key, either way of sending it); without
 * it, nothing (no security requirement, no 401), so a generated client does not ask for a
 * key that no one needs.
 */
export function documentReadAccess(document: OpenAPIObject, readKeySet: boolean): OpenAPIObject {
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as OperationObject[]) {
      const refused = operation.responses?.['401'] as { description?: string } | undefined;
      if (readKeySet || refused?.description !== READ_KEY_REFUSED) continue;
      delete operation.security;
      delete operation.responses['401'];
      delete operation.responses['429'];
    }
  }
  return document;
}

/**
 * Documents a read route (the default access, so this changes nothing at run time): it needs
 * READ_API_KEY when that is set, so Swagger UI's "Authorize" sends the key with it; one that
 * reads Redis answers 503 while Redis does not.
 */
export const ReadRoute = ({ readsRedis = true }: { readsRedis?: boolean } = {}): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ApiSecurity('api-key'),
    ApiBearerAuth('bearer'),
    ApiUnauthorizedResponse({
      type: ErrorDto,
      description: READ_KEY_REFUSED,
    }),
    ApiTooManyRequestsResponse({
      type: ErrorDto,
      description: READ_KEY_GUESSES,
      headers: RETRY_AFTER,
    }),
    ...(readsRedis
      ? [ApiServiceUnavailableResponse({ type: ErrorDto, description: 'Redis does not answer; retry later.' })]
      : []),
  );

/**
 * Each route's access, read from its metadata once (both guards ask on every request); by
 * class, then handler, since a handler inherited by two controllers may be marked apart.
 */
const accessByRoute = new WeakMap<object, WeakMap<object, RouteAccess>>();

function accessOf(reflector: Reflector, context: ExecutionContext): RouteAccess {
  const [handler, controller] = [context.getHandler(), context.getClass()];
  let byHandler = accessByRoute.get(controller);
  if (!byHandler) accessByRoute.set(controller, (byHandler = new WeakMap()));
  let access = byHandler.get(handler);
  if (access === undefined) {
    access = reflector.getAllAndOverride<RouteAccess | undefined>(ACCESS, [handler, controller]) ?? 'read';
    byHandler.set(handler, access);
  }
  return access;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** The key a request presents: x-api-key, or the token of Authorization: Bearer. */
function presentedKey(req: Request): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Marks a request to a read route that presents a wrong key: the rate limit counts it. */
const KEY_GUESS = Symbol('wrong key on a read route');
type KeyGuess = Request & { [KEY_GUESS]?: boolean };

/**
 * The rate limit of admin routes, run by ApiKeyGuard before the key check (so refused
 * attempts count too); not a global guard of its own.
 */
@Injectable()
export class AdminRateLimitGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    const guess = (context.switchToHttp().getRequest<Request>() as KeyGuess)[KEY_GUESS] === true;
    return Promise.resolve(!guess && accessOf(this.reflector, context) !== 'admin');
  }

  /**
   * One budget per client address across every admin route (the throttler's own key adds
   * the controller and handler, which gave each admin route a budget of its own, and a
   * client guessing keys as many tries as there are routes).
   */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `admin-${name}-${tracker}`;
  }
}

/**
 * The one access check, global: routes are `read` unless marked. Read routes are public
 * while READ_API_KEY is unset; with it they need it (or the admin key). Admin routes are
 * rate-limited first (AdminRateLimitGuard: refused attempts count too), then need
 * ADMIN_API_KEY and are refused with a 403 while it is unset. Keys are compared as SHA-256
 * digests with timingSafeEqual: equal lengths always, and no early exit on the first
 * differing byte. A request whose body could not be read is refused here, after its access
 * check (configureApp defers body-parser's 400/413/415 so routing and keys answer first).
 *
 * One global guard rather than two (the rate limit used to be its own APP_GUARD): Nest
 * runs every global guard on every request, and a read route now pays for one synchronous
 * check (about a tenth of the user endpoint's throughput in `./scripts/bench api`).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly readDigest: Buffer | undefined;
  private readonly adminDigest: Buffer | undefined;

  constructor(
    private readonly reflector: Reflector,
    private readonly rateLimit: AdminRateLimitGuard,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.readDigest = config.http.readApiKey === undefined ? undefined : digest(config.http.readApiKey);
    this.adminDigest = config.http.adminApiKey === undefined ? undefined : digest(config.http.adminApiKey);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = accessOf(this.reflector, context);
    // Last, a body that could not be read (configureApp defers its 400/413/415 to here).
    const request = context.switchToHttp().getRequest<Request>();
    if (access === 'public') return bodyReadable(request);
    if (access === 'admin') {
      return this.rateLimit
        .canActivate(context)
        .then((allowed) => allowed && this.keyAllows(access, context) && bodyReadable(request));
    }
    if (this.readDigest !== undefined) {
      const presented = presentedKey(request);
      if (presented !== undefined && !this.opensReadRoutes(presented)) {
        // A wrong key is a guess at one, and the admin key opens read routes too: it counts
        // against the admin routes' per-address budget, or the admin key could be guessed
        // here without limit (a security review). Past the budget: 429, as on admin routes.
        (request as KeyGuess)[KEY_GUESS] = true;
        return this.rateLimit.canActivate(context).then(() => this.keyAllows(access, context));
      }
    }
    return this.keyAllows(access, context) && bodyReadable(request);
  }

  private opensReadRoutes(presented: string): boolean {
    const given = digest(presented);
    return (
      (this.readDigest !== undefined && timingSafeEqual(given, this.readDigest)) ||
      (this.adminDigest !== undefined && timingSafeEqual(given, this.adminDigest))
    );
  }

  private keyAllows(access: 'read' | 'admin', context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const presented = presentedKey(http.getRequest<Request>());
    const matches = (expected: Buffer | undefined): boolean =>
      expected !== undefined && presented !== undefined && timingSafeEqual(digest(presented), expected);
    const refuse = (message: string): never => {
      http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="order-pipeline"');
      throw new UnauthorizedException(message);
    };
    if (access === 'admin') {
      if (this.adminDigest === undefined) {
        throw new ForbiddenException('admin routes are disabled: set ADMIN_API_KEY to enable them');
      }
      if (presented === undefined) refuse('this admin route needs the admin key (x-api-key or Authorization: Bearer)');
      if (!matches(this.adminDigest)) refuse('the API key is not valid for admin routes');
      return true;
    }
    if (this.readDigest === undefined) return true;
    if (presented === undefined) return refuse('this route needs the read key (x-api-key or Authorization: Bearer)');
    if (!this.opensReadRoutes(presented)) refuse('the API key is not valid');
    return true;
  }
}
