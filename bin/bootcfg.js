#!/usr/bin/env node
// The executable: hand everything to main(), which owns exit codes and error printing.
import { main } from '../lib/src/cli/cli.js';

process.exitCode = await main(process.argv.slice(2));
