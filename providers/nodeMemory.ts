// V8's memory settings for the Node.js processes of a run: the
// dynamic-provider host (as the providers load: dynamic.ts imports this
// first) and this repository's program (preload.ts sets the same flags
// before the SDK loads). Measured at 1000 streams (bench/results/report.md):
// - V8 sizes the young generation for the machine and lets it double under
//   load (up to 64 MiB semi-spaces in the program here), and lets the old
//   generation grow up to 4x between full collections. Keeping the young
//   generation at the size it has now and collecting the old one once it has
//   grown by half took a provider serving a no-change preview from 290 MiB
//   to about 125 MiB at the same wall time, and the program from 394-428 MiB
//   to 242-291 MiB for about 0.5 s more CPU. Collecting it once it has grown
//   by a quarter took the provider from 111-137 to 104-111 MiB and the
//   program from 209-236 to 202-223 MiB at the same wall time (A/B, 5
//   rounds, 2026-12-02, with preload.ts's promise count).
// - Maglev, V8's mid-tier optimising compiler, then held 20-27 MiB of
//   anonymous memory outside the JavaScript heap in a provider (resident
//   size less heap and file pages, sampled every 20 ms). Maglev compiling
//   only functions run about a thousand times (V8's default: 400) and
//   inlining nothing took a provider from 115-132 MiB to 108-120 and the
//   program from 229-264 to 224-239 at the same CPU (A/B, 5 rounds,
//   2026-12-02); the hottest code goes on to TurboFan either way. Without
//   Maglev at all (--no-maglev) both were 20-30 MiB smaller still, but a
//   1000-stream run took about 15% more CPU and the benchmark's large fleets
//   grew slower per resource.
// Set at run time rather than as node flags in a shim, so that upstream's shim
// gets them too; V8 reads them at every collection and every tier-up decision.
// test/unit/nodeMemory.test.ts fails if Node.js stops honouring them.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--semi-space-growth-factor=1 --heap-growing-percent=25 --no-maglev-inlining --invocation-count-for-maglev=1000");
