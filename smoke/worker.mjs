// Smoke client for workerd, ES module form: bundled with esbuild as a module worker. GET /?urls=<json> runs the
// scenarios with axios's fetch adapter and answers `{ loaded, results }`.
import * as acc from 'axios-client-credentials';
import axios from 'axios';
import scenarios from './scenarios.cjs';

export default {
  async fetch(request) {
    if (new URL(request.url).pathname === '/ping') return new Response('pong');
    const urls = JSON.parse(new URL(request.url).searchParams.get('urls'));
    const results = await scenarios.runScenarios({ acc, axios, urls, adapter: 'fetch' });
    return Response.json({ loaded: 'dist/esm (bundled)', results });
  },
};
