// The admin API's OpenAPI 3.1 document, made from the operation table (routes.ts) and the zod
// schemas that validate the requests (schemas.ts): what the document says a request may hold is
// what the server accepts. Served at /admin/v1/openapi.json; test/e2e/admin-api.test.ts checks
// that it lists every route the server has, and no other.
import { z } from 'zod';
import { ROUTES } from '../oidc/provider-config.ts';
import { ADMIN_SCOPES } from '../services/admin-api.ts';
import { ADMIN_PREFIX, ADMIN_ROUTES, type AdminRoute } from './routes.ts';
import { pageResponse } from './schemas.ts';

// OpenAPI 3.1's schemas are JSON Schema 2020-12; what a request may hold is the input side of
// each schema (before its transforms).
const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return rest;
};

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details; error and error_description as every other Tessera endpoint',
  required: ['type', 'title', 'status', 'detail', 'error'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    error: { type: 'string' },
    error_description: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** `/clients/:client_id` as OpenAPI writes it: `/clients/{client_id}`. */
export const openApiPath = (path: string) => `${ADMIN_PREFIX}${path.replace(/:(\w+)/g, '{$1}')}`;

function operation(r: AdminRoute) {
  const pathParams = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = r.query ? (jsonSchema(r.query) as { properties?: Record<string, Record<string, unknown>> }) : {};
  const queryParams = Object.entries(query.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    schema,
  }));
  const headers = [
    ...(r.conditional
      ? [
          {
            name: 'If-Match',
            in: 'header',
            required: true,
            schema: { type: 'string' },
            description: 'the ETag as last read',
          },
        ]
      : []),
    ...(r.creates
      ? [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            schema: { type: 'string', maxLength: 255 },
            description: 'a retry with the same key and body gets the first answer (kept a day)',
          },
        ]
      : []),
  ];
  const success = r.method === 'DELETE' ? '204' : r.creates || /\/(secrets|rotate)$/.test(r.path) ? '201' : '200';
  return {
    operationId: r.operationId,
    summary: r.summary,
    security: [{ tesseraAdmin: [r.scope] }],
    parameters: [...pathParams, ...queryParams, ...headers],
    ...(r.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } }
      : {}),
    responses: {
      [success]:
        success === '204'
          ? { description: 'done' }
          : {
              description: 'done',
              content: {
                'application/json': {
                  schema:
                    r.query && 'limit' in (query.properties ?? {}) ? jsonSchema(pageResponse) : { type: 'object' },
                },
              },
            },
      '400': problem('the request is not valid (errors says where)'),
      '401': problem('no valid admin access token (WWW-Authenticate: Bearer)'),
      '403': problem('the token lacks the scope (insufficient_scope)'),
      '404': problem('no such resource, or the admin API is not set up yet'),
      ...(r.conditional
        ? { '412': problem('If-Match is stale: read again'), '428': problem('If-Match is missing') }
        : {}),
      ...(r.creates
        ? {
            '409': problem('it exists already, or a request with this Idempotency-Key is still running'),
            '422': problem('this Idempotency-Key was used for another request'),
          }
        : {}),
    },
  };
}

export function openApiDocument(issuer: string) {
  const paths: Record<string, Record<string, unknown>> = {
    [openApiPath('/openapi.json')]: {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'this document',
        security: [],
        responses: { '200': { description: 'the OpenAPI 3.1 document', content: { 'application/json': {} } } },
      },
    },
  };
  for (const r of ADMIN_ROUTES) {
    const path = openApiPath(r.path);
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: operation(r) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera admin API',
      version: '1',
      description:
        "Manage Tessera over HTTP with Tessera's own access tokens (audience urn:tessera:admin). Errors are RFC 9457 problem details.",
    },
    servers: [{ url: issuer }],
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        tesseraAdmin: {
          type: 'oauth2',
          description: 'client credentials for the admin API (resource urn:tessera:admin)',
          flows: {
            clientCredentials: {
              tokenUrl: `${issuer}${ROUTES.token}`,
              scopes: Object.fromEntries(ADMIN_SCOPES.map((s) => [s, s.replace(/^admin:(\w+):(\w+)$/, '$2 $1')])),
            },
          },
        },
      },
    },
  };
}
