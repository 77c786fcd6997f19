/**
 * godelayq/otel: OpenTelemetry spans and metrics for a Scheduler.
 * Needs `@opentelemetry/api` (an optional peer dependency) and an
 * OpenTelemetry SDK set up by the application.
 */
export { instrument, ATTR, SCOPE } from './otel/instrument.js';
export type { InstrumentOptions } from './otel/instrument.js';
