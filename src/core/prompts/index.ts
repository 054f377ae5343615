export * from './rng';
export * from './types';
export * from './generators';
export * from './protocol';
