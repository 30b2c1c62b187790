/**
 * Starts the demo's authorization server and bank API and keeps them up, for tests (jest cannot
 * load the ESM-only oidc-provider and jose in-process) and for trying the examples by hand:
 *
 *   DEMO_CLIENT_ID=me DEMO_CLIENT_SECRET=… DEMO_API_KEY=… npx tsx demo/serve.ts
 *
 * Credentials come from the environment (random when unset) and are never printed. Prints one
 * JSON line, `{ "issuer", "tokenEndpoint", "apiUrl" }`, once both servers listen; closes them and
 * exits on SIGINT, SIGTERM, or when stdin ends.
 */
import { startDemoServers } from './servers';

async function main(): Promise<void> {
  const env = process.env;
  const servers = await startDemoServers({
    ...(env['DEMO_CLIENT_ID'] ? { clientId: env['DEMO_CLIENT_ID'] } : {}),
    ...(env['DEMO_CLIENT_SECRET'] ? { clientSecret: env['DEMO_CLIENT_SECRET'] } : {}),
    ...(env['DEMO_API_KEY'] ? { apiKey: env['DEMO_API_KEY'] } : {}),
  });
  let closing: Promise<void> | undefined;
  const stop = () => {
    closing ??= servers.close().finally(() => process.stdin.destroy());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  process.stdin.resume();
  process.stdout.write(
    `${JSON.stringify({ issuer: servers.auth.issuer, tokenEndpoint: servers.auth.tokenEndpoint, apiUrl: servers.bank.url })}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(`demo servers failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
