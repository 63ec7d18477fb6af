import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

interface Response {
  content?: Record<string, { schema?: object }>;
  headers?: Record<string, unknown>;
}
interface Operation {
  responses: Record<string, Response>;
  security?: Record<string, string[]>[];
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

/** One answer as a client sees it. */
export interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly headers: Headers;
  readonly text: string;
}

const DOCUMENT_ID = 'openapi';

/**
 * Deep copy of a schema for Ajv: references point into the registered document, examples
 * are left out, and an object schema that lists its properties takes no others (so a field
 * the document does not name is reported, as a generated client would not know it). The
 * document has no `allOf` of several object schemas, which that rule would break: each
 * branch would refuse the others' fields; `check` refuses such a document rather than
 * giving false failures.
 */
function strict(schema: unknown, names = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => strict(s));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // In a `properties` map the keys are field names, not keywords.
    if (names) out[key] = strict(value);
    else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/')) out[key] = `${DOCUMENT_ID}${value}`;
    else if (key === 'example' || key === 'examples') continue;
    else out[key] = strict(value, key === 'properties' || key === 'schemas');
  }
  if (!names && 'properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  if (!names && Array.isArray(out.allOf) && out.allOf.length > 1) {
    throw new Error(`an allOf of ${out.allOf.length} schemas: the no-other-fields rule cannot check it`);
  }
  return out;
}

/**
 * The app's own OpenAPI document as a contract: each answer is checked against what the
 * document declares for its operation and status (status documented, media type, body
 * schema, declared headers), with a real JSON Schema validator (Ajv, OpenAPI 3.0's
 * `nullable` included).
 */
export class OpenApiContract {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<object, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    addFormats(this.ajv);
    this.ajv.addSchema({ components: strict(document.components) as object }, DOCUMENT_ID);
  }

  /** What in the answer the document does not say; empty when it conforms. */
  check(method: string, route: string, answer: Answer): string[] {
    const where = `${method.toUpperCase()} ${route} ${answer.status}`;
    const operation = this.document.paths[route]?.[method.toLowerCase()];
    if (!operation) return [`${method.toUpperCase()} ${route} is not documented`];
    const response = operation.responses[String(answer.status)] ?? operation.responses.default;
    if (!response) return [`${where}: the status is not documented`];
    const problems: string[] = [];
    for (const header of Object.keys(response.headers ?? {})) {
      if (!answer.headers.has(header)) problems.push(`${where}: the documented header ${header} is missing`);
    }
    const media = answer.contentType?.split(';')[0]?.trim();
    if (!response.content) {
      if (answer.text !== '') problems.push(`${where}: a body (${media ?? 'no type'}) where none is documented`);
      return problems;
    }
    const declared = media === undefined ? undefined : response.content[media];
    if (!declared) {
      return [...problems, `${where}: ${media ?? 'no type'} is not one of ${Object.keys(response.content).join(', ')}`];
    }
    if (!declared.schema || media !== 'application/json') return problems;
    const validate = this.validator(declared.schema);
    if (!validate(JSON.parse(answer.text))) {
      problems.push(...(validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message ?? ''}`));
    }
    return problems;
  }

  private validator(schema: object): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(strict(schema) as object);
      this.compiled.set(schema, validate);
    }
    return validate;
  }
}

/** Fetches and keeps what the contract needs of an answer. */
export async function answerOf(res: globalThis.Response): Promise<Answer> {
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    headers: res.headers,
    text: await res.text(),
  };
}
