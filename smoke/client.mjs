// Smoke client, ES module form: `node|bun client.mjs`, `deno run -A client.mjs` in a project where the packed
// package is installed. Prints one line, `SMOKE-RESULTS <json>`, then exits on its own.
import * as acc from 'axios-client-credentials';
import axios from 'axios';
import scenarios from './scenarios.cjs';

const urls = JSON.parse(process.env.SMOKE_URLS);
const loaded = import.meta.resolve
  ? import.meta.resolve('axios-client-credentials').replace(/^.*\/node_modules\/axios-client-credentials\//, '')
  : '?';
const results = await scenarios.runScenarios({ acc, axios, urls });
console.log(`SMOKE-RESULTS ${JSON.stringify({ loaded, results })}`);
