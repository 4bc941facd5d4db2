/**
 * Where a hosted client connects and with which key. Keys come only from the environment (never
 * from a command-line flag, which would land in shell history and `ps`); base URLs from an
 * explicit option, else the environment, else the service's public default.
 */
import { ConfigError } from '../../../errors.js';
import type { Provider } from './types.js';

export interface HostedConfig {
  provider: Provider;
  baseUrl: string;
  apiKey: string;
}

export const DEFAULT_BASE_URLS: Record<Provider, string> = {
  together: 'https://api.together.ai/v1',
  openai: 'https://api.openai.com/v1',
};

export const API_KEY_ENV: Record<Provider, string> = { together: 'TOGETHER_API_KEY', openai: 'OPENAI_API_KEY' };
export const BASE_URL_ENV: Record<Provider, string> = { together: 'TOGETHER_BASE_URL', openai: 'OPENAI_BASE_URL' };

export interface ResolveConfigOptions {
  provider: Provider;
  /** Overrides the environment (the CLI's --base-url). */
  baseUrl?: string;
  env?: Record<string, string | undefined>;
}

/** The base URL alone (no key needed), e.g. to show where a command would go. */
export function resolveBaseUrl(opts: ResolveConfigOptions): string {
  const env = opts.env ?? process.env;
  const fromEnv = env[BASE_URL_ENV[opts.provider]];
  const raw = opts.baseUrl ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv.trim() : DEFAULT_BASE_URLS[opts.provider]);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`base URL "${raw}" is not a valid URL (from ${opts.baseUrl !== undefined ? '--base-url' : BASE_URL_ENV[opts.provider]})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`base URL "${raw}" must use http or https`);
  }
  // The key travels in a header: never in clear text across a network, only to this machine.
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new ConfigError(`refusing to send the API key over plain http to ${url.host}; use https (http is allowed only for localhost)`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError('base URL must not contain credentials; put the key in the environment');
  }
  return url.toString().replace(/\/+$/, '');
}

export function resolveHostedConfig(opts: ResolveConfigOptions): HostedConfig {
  const env = opts.env ?? process.env;
  const baseUrl = resolveBaseUrl(opts);
  const name = API_KEY_ENV[opts.provider];
  const apiKey = env[name]?.trim();
  if (apiKey === undefined || apiKey === '') {
    throw new ConfigError(`${name} is not set: export your ${opts.provider === 'together' ? 'Together AI' : 'OpenAI'} API key in ${name}`);
  }
  return { provider: opts.provider, baseUrl, apiKey };
}

export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
