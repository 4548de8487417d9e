/**
 * Errors that reach a client: an HTTP status, a stable code, a public message (safe to show)
 * and optionally details and an internal message (logged, never sent).
 */
export interface ErrorDetail {
  path?: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  readonly internal?: string;

  constructor(
    status: number,
    code: string,
    publicMessage: string,
    opts: { details?: ErrorDetail[]; internal?: string; cause?: unknown } = {},
  ) {
    super(publicMessage, { cause: opts.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = opts.details ?? [];
    this.internal = opts.internal;
  }

  toBody(): { error: { code: string; message: string; details: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const badRequest = (code: string, message: string, details?: ErrorDetail[]) => new AppError(400, code, message, { details });
export const unauthorized = (message = 'missing or invalid API key') => new AppError(401, 'unauthorized', message);
export const forbidden = (code: string, message: string) => new AppError(403, code, message);
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string, details?: ErrorDetail[]) => new AppError(409, code, message, { details });
export const unprocessable = (code: string, message: string, details?: ErrorDetail[]) => new AppError(422, code, message, { details });
export const tooLarge = (limit: number) => new AppError(413, 'payload_too_large', `request body is larger than ${limit} bytes`);
