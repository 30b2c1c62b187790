// Smoke client for workerd, CommonJS form: bundled with esbuild as a CommonJS module (so the package resolves
// to its `require` build) that the module worker `worker-cjs-main.mjs` imports.
'use strict';
const acc = require('axios-client-credentials');
const axios = require('axios');
const { runScenarios } = require('./scenarios.cjs');

module.exports = { run: (urls) => runScenarios({ acc, axios, urls, adapter: 'fetch' }) };
