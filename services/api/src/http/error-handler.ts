import type { FastifyError, FastifyInstance } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { RedisUnavailableError } from '../redis-client.js';
import type { ErrorDetail } from './errors.js';
import { ApiError, errorBody } from './errors.js';

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

// Ajv speaks in JSON pointers; clients want the field's name: "body.email", "body.password".
function detailOf(context: string | undefined, issue: ValidationIssue): ErrorDetail {
  const params = issue.params as Record<string, unknown>;
  const path = issue.instancePath.split('/').filter(Boolean);
  if (typeof params.missingProperty === 'string') path.push(params.missingProperty);
  if (typeof params.additionalProperty === 'string') {
    return { field: [context ?? 'body', ...path, params.additionalProperty].join('.'), problem: 'is not allowed' };
  }
  const problem = typeof params.missingProperty === 'string' ? 'is required' : (issue.message ?? 'is invalid');
  return { field: [context ?? 'body', ...path].join('.'), problem };
}

// Fastify's own errors for a request it could not even parse.
const FRAMEWORK_ERRORS: Record<string, () => ApiError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new ApiError('PAYLOAD_TOO_LARGE'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new ApiError('UNSUPPORTED_MEDIA_TYPE'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new ApiError('VALIDATION_FAILED', [{ field: 'body', problem: 'has a wrong length' }]),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new ApiError('VALIDATION_FAILED', [{ field: 'body', problem: 'is empty' }]),
  FST_ERR_CTP_INVALID_JSON_BODY: () =>
    new ApiError('VALIDATION_FAILED', [{ field: 'body', problem: 'is not valid JSON' }]),
};

function toApiError(error: FastifyError): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof RedisUnavailableError || isDatabaseUnavailable(error))
    return new ApiError('SERVICE_UNAVAILABLE');
  if (error.validation) {
    return new ApiError(
      'VALIDATION_FAILED',
      error.validation.map((issue) => detailOf(error.validationContext, issue)),
    );
  }
  const framework = FRAMEWORK_ERRORS[error.code];
  if (framework) return framework();
  if (error.statusCode === 429) return new ApiError('RATE_LIMITED');
  if (error.statusCode === 400 && error instanceof SyntaxError) {
    return new ApiError('VALIDATION_FAILED', [{ field: 'body', problem: 'is not valid JSON' }]);
  }
  return undefined;
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error);
    if (apiError) {
      if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
      return reply.status(apiError.status).send(errorBody(apiError, request.id));
    }
    // Anything unexpected: the details stay in our log, the client gets the catalogue entry and the request id.
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody(new ApiError('INTERNAL_ERROR'), request.id));
  });

  app.setNotFoundHandler((request, reply) => reply.status(404).send(errorBody(new ApiError('NOT_FOUND'), request.id)));
}
