// The base of Stream, KeyValue and ObjectStore: a Pulumi dynamic resource
// whose provider is a module path, not a closure.
//
// Pulumi stores a dynamic resource's provider as JavaScript text in its
// inputs and outputs; the engine's dynamic-provider host evaluates it and
// calls its `handler()` for the provider object. pulumi.dynamic.Resource
// produces that text by serialising closures (over 2 KiB per copy here).
// We write it by hand instead: it loads the provider from the compiled
// program when a method runs, by a path relative to the program directory
// (where the engine starts both the program and dynamic providers), so state
// stays valid when the checkout moves. A hundred bytes, and nothing captured:
// no credentials, no environment.
import * as pulumi from "@pulumi/pulumi";
import path from "node:path";
import { StreamConfig } from "./rules";

export type KindModule = "stream" | "keyValue" | "objectStore";

export function providerSource(module: KindModule): string {
    const fromProgram = path.relative(process.cwd(), path.join(__dirname, module)).split(path.sep).join("/");
    return `exports.handler = () => require(require("path").resolve(${JSON.stringify(fromProgram)})).provider;\n`;
}

export abstract class JetStreamResource extends pulumi.CustomResource {
    /** The backing stream's name on the broker. */
    declare readonly stream: pulumi.Output<string>;
    /** The backing stream's config as the broker has it. */
    declare readonly config: pulumi.Output<StreamConfig>;

    protected constructor(module: KindModule, type: string, name: string, args: object, opts?: pulumi.CustomResourceOptions) {
        super(`pulumi-nodejs:dynamic/jetstream:${type}`, name, { ...args, stream: undefined, config: undefined, __provider: providerSource(module) }, opts);
    }
}
