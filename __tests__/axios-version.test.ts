import axios from 'axios';

test('runs against a supported axios 1.x release (the jest project decides which)', () => {
  expect(axios.VERSION).toMatch(/^1\.(8\.[2-9]|9|[1-9]\d)/);
  process.stdout.write(`axios ${axios.VERSION}\n`);
});
