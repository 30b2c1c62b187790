// Set-up of the mutation runs only (jest.mutation.config.cjs): the property tests of the unit files
// run from one fixed seed, so that each mutation run replays the same cases, and each property stops
// after 200 ms (a pass, unless a counterexample turned up by then), so that a mutant covered by the
// property tests costs seconds, not the tens of seconds that hundreds of runs cost under StrykerJS's
// instrumented code. `npm test` runs them in full.
'use strict';
require('fast-check').configureGlobal({ seed: 20_261_202, interruptAfterTimeLimit: 200 });
