// The heap of the Node.js processes of a run: the dynamic-provider host (as
// the providers load: dynamic.ts imports this first) and this repository's
// program (preload.ts sets the same flags before the SDK loads). V8 sizes the
// young generation for the machine and lets it double under load (up to 64
// MiB semi-spaces in the program here), and lets the old generation grow up
// to 4x between full collections. Keeping the young generation at the size it
// has now and collecting the old one once it has grown by half took, at 1000
// streams, a provider serving a no-change preview from 290 MiB to about 140
// MiB at the same wall time, and the program from 394-428 MiB to 242-291
// MiB for about 0.5 s more CPU (bench/results/report.md). Set at run time
// rather than as node flags in a shim, so that upstream's shim gets it too;
// V8 reads both at every collection. test/unit/heap.test.ts fails if Node.js
// stops honouring them.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--semi-space-growth-factor=1 --heap-growing-percent=50");
