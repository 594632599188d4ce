// The base of Stream, KeyValue and ObjectStore: a Pulumi dynamic resource
// whose provider is a reference to this package, not a closure.
//
// Pulumi stores a dynamic resource's provider as JavaScript text in its
// inputs and outputs; the engine's dynamic-provider host evaluates it and
// calls its `handler()` for the provider object. pulumi.dynamic.Resource
// produces that text by serialising closures (over 2 KiB per copy). We write
// it by hand: it loads this package by name from the program directory
// (where the engine starts dynamic providers), so the text names no file.
// Files can move and `main` can change without stranding a stack, and
// nothing is captured: no credentials, no environment.
import * as pulumi from "@pulumi/pulumi";
import type { StreamConfig } from "./rules.ts";
import { refusePlainCredentials } from "./secrets.ts";

export type KindName = "stream" | "keyValue" | "objectStore";

/** The package's name, resolved from the program directory: itself in this repository, node_modules elsewhere. */
export const PACKAGE = "kanade-jetstream";
/** The entry of PACKAGE that exports every kind's provider. */
export const PROVIDERS_ENTRY = `${PACKAGE}/dynamic-providers`;

/** The `__provider` text of a kind: the same for every version of this package. */
export function providerSource(kind: KindName): string {
    return `exports.handler = () => require("node:module").createRequire(require("node:path").join(process.cwd(), "package.json"))` +
        `(${JSON.stringify(PROVIDERS_ENTRY)}).providers[${JSON.stringify(kind)}];\n`;
}

/**
 * This stack's owner id, `<org>/<project>/<stack>`: how the ownership
 * registry (ownership.ts) tells stacks on one broker apart.
 */
export function stackOwner(): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** A kind's arguments as a program passes them: each may be another resource's output. */
export type ResourceArgs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export abstract class JetStreamResource extends pulumi.CustomResource {
    /** The backing stream's name on the broker. */
    declare readonly stream: pulumi.Output<string>;
    /** The backing stream's config as the broker has it. */
    declare readonly config: pulumi.Output<StreamConfig>;

    protected constructor(kind: KindName, type: string, name: string, args: object, opts?: pulumi.CustomResourceOptions) {
        refusePlainCredentials();
        // The owner comes last: a resource always belongs to the stack declaring it.
        super(`pulumi-nodejs:dynamic/jetstream:${type}`, name,
            { ...args, owner: stackOwner(), stream: undefined, config: undefined, __provider: providerSource(kind) }, opts);
    }
}
