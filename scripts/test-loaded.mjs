#!/usr/bin/env node
// `npm run test:loaded`: the whole suite (`npm test`) while two busy processes keep both cores of a
// 2-core machine loaded, as CI's machine may be. It must pass as on an idle machine: a test waits
// for the event it means, and its timeouts only guard against hangs. Prints the wall time.
// TROLLEY_LOAD_PROCS sets how many busy processes (default 2).
import { spawn } from 'node:child_process';

const count = Number(process.env.TROLLEY_LOAD_PROCS ?? 2);
const busy = [];
for (let i = 0; i < count; i++)
  busy.push(spawn(process.execPath, ['-e', 'for (;;) Math.sqrt(Math.random())'], { stdio: 'ignore' }));
const stopBusy = () => {
  for (const p of busy) p.kill('SIGKILL');
};
process.on('exit', stopBusy);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    stopBusy();
    process.exit(130);
  });

process.stderr.write(`test:loaded: npm test with ${count} busy processes on the machine\n`);
const started = Date.now();
const test = spawn('npm', ['test'], { stdio: 'inherit' });
test.on('close', (code, signal) => {
  const s = ((Date.now() - started) / 1000).toFixed(0);
  process.stderr.write(
    `test:loaded: npm test ${code === 0 ? 'passed' : `failed (${signal ?? `exit ${code}`})`} in ${s} s under load\n`,
  );
  stopBusy();
  process.exit(code ?? 1);
});
