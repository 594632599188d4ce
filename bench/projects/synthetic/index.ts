// A synthetic fleet for the benchmark's slope: `count` plain streams, each
// with its own name and subject, through the same Stream provider as the
// kanade fleet (no fleet checks, no component): what each extra resource
// costs preview and up.
import * as pulumi from "@pulumi/pulumi";
import { Stream } from "../../../providers/stream.ts";

const config = new pulumi.Config();
const count = config.requireNumber("count");
const width = String(Math.max(count - 1, 0)).length;

export const streams = Array.from({ length: count }, (_, i) => {
    const id = String(i).padStart(width, "0");
    return new Stream(`bench-${id}`, {
        name: `BENCH_${id}`,
        subjects: [`bench.${id}.>`],
        maxAge: "1d",
        discard: "old",
    }).stream;
}).length;
