/**
 * Runs the demo, its servers and the examples as child processes, as a user would: TypeScript
 * through tsx (`node --import tsx`, one process, so its pid is the script's), from the repository
 * root, importing the built package by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function collect(child: ChildProcess, started: number): Promise<ScriptResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Runs `file` (relative to the repository root) with tsx and resolves when it exits. */
export function runScript(file: string, args: string[] = [], env: Record<string, string> = {}): Promise<ScriptResult> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, started);
}

/** Runs an npm script as a user would (`npm run <name>`) and resolves when it exits. */
export function runNpm(args: string[]): Promise<ScriptResult> {
  const started = performance.now();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return collect(spawn(npm, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] }), started);
}

export interface DemoServersProcess {
  issuer: string;
  tokenEndpoint: string;
  apiUrl: string;
  /** Closes stdin, which makes demo/serve.ts close both servers and exit; resolves with its result. */
  stop(): Promise<ScriptResult>;
}

/**
 * Starts demo/serve.ts (the demo's oidc-provider and bank API) in a child process, because jest
 * cannot load those ESM-only packages in-process; resolves once it prints its URLs.
 */
export async function startDemoServersProcess(credentials: {
  clientId: string;
  clientSecret: string;
  apiKey: string;
}): Promise<DemoServersProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/serve.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DEMO_CLIENT_ID: credentials.clientId,
      DEMO_CLIENT_SECRET: credentials.clientSecret,
      DEMO_API_KEY: credentials.apiKey,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const result = collect(child, started);
  const urls = await new Promise<{ issuer: string; tokenEndpoint: string; apiUrl: string }>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        child.stdout?.off('data', onData);
        try {
          resolve(JSON.parse(buffered.slice(0, newline)) as { issuer: string; tokenEndpoint: string; apiUrl: string });
        } catch (error) {
          reject(error);
        }
      }
    };
    child.stdout?.on('data', onData);
    void result.then((r) =>
      reject(new Error(`demo/serve.ts exited (${String(r.code)}) before it listened: ${r.stderr}`)),
    );
  });
  return {
    ...urls,
    stop: () => {
      child.stdin?.end();
      return result;
    },
  };
}

/** Whether something still accepts TCP connections at the URL's host and port. */
export function isListening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
