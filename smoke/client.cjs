// Smoke client, CommonJS form: `node|bun client.cjs`, `deno run -A client.cjs` in a project where the packed
// package is installed. Prints one line, `SMOKE-RESULTS <json>`, then exits on its own.
'use strict';
const acc = require('axios-client-credentials');
const axios = require('axios');
const { runScenarios } = require('./scenarios.cjs');

const urls = JSON.parse(process.env.SMOKE_URLS);
const loaded = require.resolve('axios-client-credentials').replace(/^.*\/node_modules\/axios-client-credentials\//, '');
runScenarios({ acc, axios, urls }).then((results) => {
  console.log(`SMOKE-RESULTS ${JSON.stringify({ loaded, results })}`);
});
