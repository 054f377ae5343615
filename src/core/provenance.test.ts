import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APP_NAME, APP_VERSION, appRecord } from './provenance';

describe('app provenance', () => {
  it("is package.json's name and version, so exports never record a stale version", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      name: string;
      version: string;
    };
    expect([APP_NAME, APP_VERSION]).toEqual([pkg.name, pkg.version]);
    expect(appRecord('command line (Node)')).toEqual({
      name: pkg.name,
      version: pkg.version,
      runner: 'command line (Node)',
    });
  });
});
