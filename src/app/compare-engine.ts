/**
 * The comparison engine now lives in `app/compare/` (session, inference, models, open, exports, and the
 * engine that composes them). This re-export keeps the older import path working.
 */
export { CompareEngine, type EngineDeps } from './compare/engine';
export { APP_VERSION } from '../core/provenance';
export { windowPresets } from './compare/windows';
