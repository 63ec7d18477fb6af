import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pinoHttp, type Options } from 'pino-http';
import { loadConfig } from '@order-pipeline/config';
import { loggerParams } from './logging.module';

/** The real pino-http middleware with the app's options, writing JSON lines into `lines`. */
async function serve(lines: string[], env: Record<string, string> = {}): Promise<Server> {
  const params = loggerParams(loadConfig({ LOG_FORMAT: 'json', ...env }));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const log = pinoHttp(params.pinoHttp as Options, sink);
  const server = createServer((req, res) => {
    log(req, res);
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('request logs', () => {
  const lines: string[] = [];
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = await serve(lines);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const logged = async (path: string, headers: Record<string, string>): Promise<Record<string, unknown>> => {
    const before = lines.length;
    await (await fetch(`${base}${path}`, { headers })).text();
    for (let i = 0; i < 100 && lines.length === before; i++) await new Promise((r) => setImmediate(r));
    return JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
  };

  it('write one JSON line per request with the request id, method, path and status', async () => {
    const line = await logged('/stats/global', { 'x-request-id': 'req-7' });
    expect(line).toMatchObject({
      level: 30,
      req: { id: 'req-7', method: 'GET', url: '/stats/global' },
      res: { statusCode: 200 },
      msg: 'request completed',
    });
  });

  it('never contain an API key or a credential header', async () => {
    const key = 'admin-key-0123456789abcdef';
    await logged('/admin/dead-letters', { 'x-api-key': key, authorization: `Bearer ${key}`, cookie: `s=${key}` });
    expect(lines.join('\n')).not.toContain(key);
  });

  it('log client errors at warn', async () => {
    expect((await logged('/missing', {})).level).toBe(40);
  });
});
