// The health part of the supervisor: probes, the notify socket and the verdict they produce.

export { createHealthMonitor, type HealthMonitorOptions } from './monitor.ts';
export { mergeHealthSpec, HEALTH_DEFAULTS, type EffectiveHealthSpec, type EffectiveTiming } from './spec.ts';
