#!/usr/bin/env node
// Launcher for the `synaptic` command: registers the tsx loader from this package's own
// node_modules, then runs the TypeScript entry point.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../electron/cli/synaptic/main.ts');
const code = await main(process.argv.slice(2));
// Flush stdout before exiting, because handles left open (sockets, timers) must not keep a
// finished command alive.
process.stdout.write('', () => process.exit(code));
