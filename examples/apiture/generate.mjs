// Regenerates examples/apiture/client/ from examples/apiture/openapi.yaml, offline.
//
//   node examples/apiture/generate.mjs
//
// The output is committed, so `npm install && npm run demo` needs nothing else; run this only
// after editing openapi.yaml. It uses @hey-api/openapi-ts (pinned to 0.92.2, the newest release
// that runs on Node 20) with its axios client, which is generated into the output folder
// (client/client/ and client/core/), so nothing from @hey-api is needed at run time: only axios.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@hey-api/openapi-ts';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'client');

rmSync(output, { recursive: true, force: true });
await createClient({
  input: join(here, 'openapi.yaml'),
  output: {
    path: output,
    // Our tsconfig uses `nodenext`; the generated files are CommonJS there and need no extension.
    importFileExtension: null,
    tsConfigPath: null,
  },
  logs: { level: 'silent' },
  plugins: [
    // The client is created by our own code with our own axios instance (see examples/apiture.ts),
    // so the generated default client is created without a base URL and never used for requests.
    // `throwOnError`: calls reject with the AxiosError (or the library's PermissionError, which
    // extends it), as plain axios does, instead of resolving to `{ error }`.
    { name: '@hey-api/client-axios', baseUrl: false, throwOnError: true },
    '@hey-api/typescript',
    // The SDK's own auth hooks (`auth` in the client config) stay unset: axios-client-credentials
    // sets `Authorization`, and the API-Key header is a default header of the axios instance.
    { name: '@hey-api/sdk' },
  ],
});

// client/client/ and client/core/ are hey-api's axios runtime, copied verbatim. They are written
// for looser compiler settings than ours (`exactOptionalPropertyTypes`, the DOM lib), so they are
// marked `@ts-nocheck`; the files generated from our definition (sdk.gen.ts, types.gen.ts) stay
// fully type-checked, and so does every call made through them.
for (const dir of ['client', 'core']) {
  for (const name of readdirSync(join(output, dir))) {
    const file = join(output, dir, name);
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      text.replace(
        /^(\/\/ This file is auto-generated[^\n]*\n)/,
        '$1// @ts-nocheck: hey-api runtime, see examples/apiture/generate.mjs\n',
      ),
    );
  }
}
console.log(`generated ${output}`);
