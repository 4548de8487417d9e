import { Router, type RouterContext } from '@koa/router';
import type { Next } from 'koa';
import { z } from 'zod';
import { errorSchema } from '../../schemas/api';

export type Auth = 'site' | 'admin' | 'onec' | 'none';

export interface RouteDoc {
  method: 'get' | 'post' | 'put';
  /** Koa path (`/orders/:id`). */
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType;
  query?: z.ZodObject;
  idempotencyKey?: 'required' | 'optional';
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Not listed in /openapi.json (sandbox controls). */
  hidden?: boolean;
}

export type Handler = (ctx: RouterContext, next: Next) => unknown;

/** A router that also remembers what each route takes and gives, for /openapi.json. */
export class ApiRouter {
  readonly router = new Router();
  readonly docs: RouteDoc[] = [];

  route(doc: RouteDoc, ...handlers: Handler[]): this {
    this.docs.push(doc);
    (this.router[doc.method] as (path: string, ...mw: Handler[]) => unknown)(doc.path, ...handlers);
    return this;
  }
}

const STANDARD_ERRORS: Record<number, string> = {
  400: 'Malformed request (not JSON, bad parameters)',
  401: 'Missing or invalid key',
  404: 'Not found',
  413: 'Body too large',
  422: 'Validation failed; details carry the field paths',
};

function componentRef(schema: z.ZodType): object {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: `#/components/schemas/${id}` };
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** The OpenAPI 3.1 document of every registered route, generated from the same zod schemas that validate. */
export function openApiDocument(docs: RouteDoc[], info: { version: string; serverUrl: string }): object {
  const output = z.toJSONSchema(z.globalRegistry, {
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
  }).schemas;
  const input = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
  }).schemas;
  const schemas: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(output)) {
    const { $schema: _s, ...rest } = (id.startsWith('Create') ? input[id] : s) as Record<string, unknown>;
    schemas[id] = rest;
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const d of docs) {
    if (d.hidden) continue;
    const path = d.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params: unknown[] = [...d.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (d.query) {
      for (const [name, s] of Object.entries(d.query.shape)) {
        params.push({ name, in: 'query', required: !(s as z.ZodType).safeParse(undefined).success, schema: componentRef(s as z.ZodType) });
      }
    }
    if (d.idempotencyKey) {
      params.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: d.idempotencyKey === 'required',
        description: 'Same key and body: the stored answer. Same key, other body: 422. Same key while the first request runs: 409.',
        schema: { type: 'string', maxLength: 255 },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [code, r] of Object.entries(d.responses)) {
      responses[code] = {
        description: r.description,
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: componentRef(r.schema) } } } : {}),
      };
    }
    for (const [code, description] of Object.entries(STANDARD_ERRORS)) {
      if (responses[code]) continue;
      if (code === '401' && d.auth === 'none') continue;
      if (code === '422' && !d.body) continue;
      if ((code === '400' || code === '413') && !d.body) continue;
      responses[code] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    paths[path] ??= {};
    paths[path][d.method] = {
      summary: d.summary,
      tags: [d.tag],
      ...(d.auth === 'none'
        ? { security: [] }
        : { security: [{ [d.auth === 'admin' ? 'adminKey' : d.auth === 'onec' ? 'onecKey' : 'siteKey']: [] }] }),
      ...(params.length ? { parameters: params } : {}),
      ...(d.body ? { requestBody: { required: true, content: { 'application/json': { schema: componentRef(d.body) } } } } : {}),
      responses,
    };
  }
  void errorSchema; // registered as component "Error"
  return {
    openapi: '3.1.0',
    info: {
      title: 'onec-gateway',
      version: info.version,
      description:
        'Orders, payments and refunds for the website; provider callbacks; 1C endpoints; operations. Amounts are integer kopecks.',
    },
    servers: [{ url: info.serverUrl }],
    components: {
      schemas,
      securitySchemes: {
        siteKey: { type: 'http', scheme: 'bearer', description: 'A site API key of the organization' },
        adminKey: { type: 'http', scheme: 'bearer', description: 'An admin key' },
        onecKey: { type: 'http', scheme: 'bearer', description: 'A key of a 1C base' },
      },
    },
    paths,
  };
}
