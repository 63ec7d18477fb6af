import { emulatorEndpoint } from './queue-target';

describe('emulatorEndpoint (where the app reaches its own emulator)', () => {
  it.each([
    ['0.0.0.0', 'http://127.0.0.1:4566'],
    ['::', 'http://127.0.0.1:4566'],
    ['127.0.0.1', 'http://127.0.0.1:4566'],
    ['::1', 'http://[::1]:4566'],
    ['10.1.2.3', 'http://10.1.2.3:4566'],
    ['localhost', 'http://localhost:4566'],
  ])('reaches an emulator listening on %s at %s', (host, endpoint) => {
    expect(emulatorEndpoint(host, 4566)).toBe(endpoint);
  });
});
