export * from './types';
export * from './intensity';
export * from './volume';
export * from './morphology';
