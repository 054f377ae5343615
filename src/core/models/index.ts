export * from './contracts';
export * from './adapters';
export * from './selection';
export * from './resample';
