/**
 * The application's identity as every export records it (evaluation-protocol.md "Provenance": "App
 * version, …"). One owner: the comparison view's exports, the batch view's provenance.json and the
 * command line all take it from here. The version is package.json's (a unit test keeps them equal).
 */
export const APP_NAME = 'sam-compare';
export const APP_VERSION = '0.1.0';

export function appRecord(runner?: string): { name: string; version: string; runner?: string } {
  return { name: APP_NAME, version: APP_VERSION, ...(runner ? { runner } : {}) };
}
