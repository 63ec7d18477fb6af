export default async function globalTeardown(): Promise<void> {
  const stop = (globalThis as Record<string, unknown>).__E2E_STOP__ as (() => Promise<void>) | undefined;
  await stop?.();
}
