// Where populate sends: an explicit queue URL (real SQS or not), or the local emulator.

export type Target = {
  /** Known queue URL, or undefined when it must be resolved from queueName with GetQueueUrl. */
  queueUrl?: string;
  queueName: string;
  /** Explicit endpoint for the SQS client (always set when talking to the emulator). */
  endpoint?: string;
  region: string;
  /** True for the emulator / any non-AWS endpoint: dummy static credentials are used. */
  emulator: boolean;
};

type Env = Record<string, string | undefined>;

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

export function isAwsHost(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host.endsWith('.amazonaws.com') || host.endsWith('.amazonaws.com.cn') || host.endsWith('.api.aws');
  } catch {
    return false;
  }
}

/** "https://sqs.eu-west-1.amazonaws.com/123/q" → "eu-west-1". */
export function regionFromQueueUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const m = /^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/i.exec(new URL(url).hostname);
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The endpoint implied by a non-AWS queue URL: its origin, with a "*.localhost" host (as the
 * emulator hands out, e.g. http://sqs.us-east-1.localhost:4566/000000000000/orders, which the
 * system resolver may not know) mapped to 127.0.0.1 (RFC 6761). Undefined for AWS URLs.
 */
export function endpointFromQueueUrl(url: string): string | undefined {
  if (isAwsHost(url)) return undefined;
  try {
    const u = new URL(url);
    const host = u.hostname.toLowerCase();
    if (host === 'localhost' || host.endsWith('.localhost')) u.hostname = '127.0.0.1';
    return u.origin;
  } catch {
    return undefined;
  }
}

export function resolveTarget(env: Env, queueUrlOption?: string): Target {
  const queueUrl = nonEmpty(queueUrlOption) ?? nonEmpty(env.SQS_QUEUE_URL);
  const endpoint =
    nonEmpty(env.SQS_ENDPOINT) ??
    (queueUrl ? endpointFromQueueUrl(queueUrl) : `http://127.0.0.1:${nonEmpty(env.SQS_EMULATOR_PORT) ?? '4566'}`);
  const region = nonEmpty(env.AWS_REGION) ?? regionFromQueueUrl(queueUrl) ?? 'us-east-1';
  const queueName = nonEmpty(env.SQS_QUEUE_NAME) ?? 'orders';
  const emulator = !isAwsHost(endpoint ?? (queueUrl as string));
  return { queueUrl, queueName, endpoint, region, emulator };
}

export function describeTarget(t: Target): string {
  if (t.queueUrl) return t.endpoint ? `${t.queueUrl} via ${t.endpoint}` : t.queueUrl;
  return `queue "${t.queueName}" at ${t.endpoint}`;
}
