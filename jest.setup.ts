import { closeAll } from './__tests__/helpers/http.js';

afterEach(closeAll);
