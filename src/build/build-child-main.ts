// The entry of a full build's child process (src/build/child.ts forks it).

import { runChild } from './child.js';

runChild();
