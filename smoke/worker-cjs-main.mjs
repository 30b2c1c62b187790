// The module worker around the CommonJS smoke client (worker-cjs.cjs, bundled into client.cjs).
import client from './client.cjs';

export default {
  async fetch(request) {
    if (new URL(request.url).pathname === '/ping') return new Response('pong');
    const urls = JSON.parse(new URL(request.url).searchParams.get('urls'));
    return Response.json({ loaded: 'dist/cjs (bundled)', results: await client.run(urls) });
  },
};
