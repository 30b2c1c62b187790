import axios from 'axios';
import type { AxiosAdapter, InternalAxiosRequestConfig } from 'axios';

export type AdapterSpec = InternalAxiosRequestConfig['adapter'];

/** Adapter names resolved to axios's http adapter; other names can depend on the config (fetch), so they are resolved each time. */
const resolvedToHttp = new Map<unknown, AxiosAdapter>();
let http: AxiosAdapter | undefined;

/** axios's http adapter, where this runtime has it. */
export function httpAdapter(): AxiosAdapter | undefined {
  try {
    return (http ??= (axios.getAdapter as (spec: string) => AxiosAdapter)('http'));
  } catch {
    return undefined;
  }
}

/** The adapter axios would call for `spec`: a function as is, names and lists through `axios.getAdapter`. */
export function resolveAdapter(spec: AdapterSpec, config: InternalAxiosRequestConfig): AxiosAdapter {
  if (typeof spec === 'function') return spec;
  const cached = resolvedToHttp.get(spec);
  if (cached) return cached;
  const adapter = (axios.getAdapter as (spec: AdapterSpec, config?: unknown) => AxiosAdapter)(spec, config);
  if (adapter === httpAdapter() && resolvedToHttp.size < 16) resolvedToHttp.set(spec, adapter);
  return adapter;
}

/** Calls `adapter`; one that throws at once rejects instead, so what follows a send always runs. */
export function callAdapter(adapter: AxiosAdapter, config: InternalAxiosRequestConfig): ReturnType<AxiosAdapter> {
  try {
    return adapter(config);
  } catch (error) {
    return Promise.reject(error);
  }
}
