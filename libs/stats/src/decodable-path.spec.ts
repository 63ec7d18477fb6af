import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodablePath, hasUndecodablePath, pathAsSent } from './http-errors';

/** The URL the router sees after decodablePath, and the path as sent it kept (if it rewrote it). */
function through(url: string): { url: string | undefined; sent: string | undefined; undecodable: boolean } {
  const req = { url } as IncomingMessage;
  let passed = false;
  decodablePath(req, {} as ServerResponse, () => (passed = true));
  expect(passed).toBe(true);
  return { url: req.url, sent: pathAsSent(req), undecodable: hasUndecodablePath(req) };
}

describe('decodablePath', () => {
  it.each([
    ['/users/U-1/stats'],
    ['/users/A%2FB%2E%20%25/stats'],
    ['/users/U-1/stats?from=%FF'],
    ['/users/U-1/stats#%FF'],
  ])('leaves %s alone: every path segment decodes and none holds an escaped unreserved character', (url) => {
    expect(through(url)).toEqual({ url, sent: undefined, undecodable: false });
  });

  it.each([
    ['/stats/%67lobal', '/stats/global'],
    ['/users/%55%2d%31/stats?x=%67', '/users/U-1/stats?x=%67'],
    ['/%64ocs/%7e%5f%30%39%41%5A%61%7A', '/docs/~_09AZaz'],
  ])('routes %s as %s: an escaped letter, digit, -, _ or ~ is that character', (url, routed) => {
    expect(through(url)).toEqual({ url: routed, sent: url.split('?')[0], undecodable: false });
  });

  it.each([
    ['/users/%FF/stats', '/users/%00/stats', '/users/%FF/stats'],
    ['/users/%FF/%67', '/users/%00/g', '/users/%FF/%67'],
    ['/users/A%E0%A4B/stats?limit=1&x=%FF', '/users/%00/stats?limit=1&x=%FF', '/users/A%E0%A4B/stats'],
    ['/orders/rejected/%/reprocess', '/orders/rejected/%00/reprocess', '/orders/rejected/%/reprocess'],
    ['/a/%FF/b/%C0', '/a/%00/b/%00', '/a/%FF/b/%C0'],
  ])('puts a stand-in for each segment of %s that is not percent-encoded UTF-8', (url, routed, sent) => {
    expect(through(url)).toEqual({ url: routed, sent, undecodable: true });
  });
});
