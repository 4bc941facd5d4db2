import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { DEFAULT_RETRY_POLICY, Redactor, backoffDelay, parseRetryAfter, resolveBaseUrl, resolveHostedConfig } from '../../../src/models/finetune/hosted/index.js';
import { parseErrorBody } from '../../../src/models/finetune/hosted/http.js';

describe('retry arithmetic', () => {
  it('parses Retry-After as seconds, HTTP date and retry-after-ms (which wins)', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2025 00:00:10 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '120', 'retry-after': '3' }), now)).toBe(120);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });

  it('backs off exponentially, capped, with jitter in [step/2, step]', () => {
    const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, p, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, p, () => 0.999999))).toEqual([100, 200, 400, 800, 1000].map((x) => expect.closeTo(x, 2)));
  });

  it('reads both error body shapes and plain text', () => {
    expect(parseErrorBody('{"error": {"message": "m", "type": "t", "param": null, "code": "c"}}')).toEqual({ message: 'm', type: 't', code: 'c' });
    expect(parseErrorBody('{"message": "flat"}')).toEqual({ message: 'flat' });
    expect(parseErrorBody('{"error": "just text"}')).toEqual({ message: 'just text' });
    expect(parseErrorBody('upstream timed out')).toEqual({ message: 'upstream timed out' });
    expect(parseErrorBody('<html>502</html>')).toEqual({});
  });

  it('redacts the key and anything after Bearer', () => {
    const r = new Redactor(['sk-live-abcdef']);
    expect(r.redact('bad key sk-live-abcdef!')).toBe('bad key [REDACTED]!');
    expect(r.redact('header Authorization: Bearer other-token, more')).toBe('header Authorization: Bearer [REDACTED], more');
    expect(new Redactor(['ab']).redact('ab cab')).toBe('ab cab');
  });
});

describe('configuration from the environment', () => {
  it('takes --base-url over the environment over the default, and trims slashes', () => {
    expect(resolveBaseUrl({ provider: 'together', env: {} })).toBe('https://api.together.ai/v1');
    expect(resolveBaseUrl({ provider: 'openai', env: {} })).toBe('https://api.openai.com/v1');
    expect(resolveBaseUrl({ provider: 'together', env: { TOGETHER_BASE_URL: 'https://api.together.xyz/v1/' } })).toBe('https://api.together.xyz/v1');
    expect(resolveBaseUrl({ provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1', env: { OPENAI_BASE_URL: 'https://x.example/v1' } })).toBe('http://127.0.0.1:9/v1');
  });

  it('refuses plain http off this machine, credentials in URLs, and a missing key', () => {
    expect(() => resolveBaseUrl({ provider: 'together', baseUrl: 'http://example.com/v1', env: {} })).toThrow(/plain http/);
    expect(() => resolveBaseUrl({ provider: 'together', baseUrl: 'https://u:p@example.com/v1', env: {} })).toThrow(ConfigError);
    expect(() => resolveBaseUrl({ provider: 'together', baseUrl: 'not a url', env: {} })).toThrow(/not a valid URL \(from --base-url\)/);
    expect(() => resolveHostedConfig({ provider: 'openai', env: { OPENAI_API_KEY: '  ' } })).toThrow(/OPENAI_API_KEY is not set/);
    expect(resolveHostedConfig({ provider: 'openai', env: { OPENAI_API_KEY: 'sk-1' } })).toEqual({ provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-1' });
  });
});
