// The dynamic-provider host's heap, set as the providers load (dynamic.ts
// imports this first). V8 sizes the young generation for the machine and
// lets it double under load (16 to 32 MiB semi-spaces in the host here), and
// lets the old generation grow up to 4x between full collections: a
// provider serving a 1000-stream preview peaked at 290 MiB with about 25 MiB
// alive. Keeping the young generation at the size it has now and collecting
// the old one once it has grown by half took that peak to about 140 MiB, at
// the same wall time (bench/results/report.md). Set at run time rather than
// as node flags in a shim, so that upstream's shim gets it too; V8 reads both
// at every collection. test/unit/heap.test.ts fails if Node.js stops
// honouring them.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--semi-space-growth-factor=1 --heap-growing-percent=50");
