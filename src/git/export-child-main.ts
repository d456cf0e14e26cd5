// The entry of serve --repo's full export child process (src/git/export-child.ts forks it).

import { runExportChild } from './export-child.js';

runExportChild();
