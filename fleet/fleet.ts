// The desired fleet for one stack (catalogue rows + stack config) and the
// KanadeFleet component that declares it: one resource per row, named as on
// the broker, so `pulumi preview` reads like `nats stream ls`.
import * as pulumi from "@pulumi/pulumi";
import {
    type Declared, KeyValue, type KeyValueArgs, ObjectStore, type ObjectStoreArgs, type ResourceSpec, Stream, type StreamArgs,
    declared, formatSize, sizeToBytes,
} from "kanade-jetstream";
import { type CatalogueRow, catalogueAt } from "./catalogue.ts";
import { type StackConfig } from "./config.ts";

/** A catalogue row as this stack declares it: its arguments, and the name and backing stream config they give. */
export type FleetEntry = ResourceSpec & Declared & { row: CatalogueRow; protect: boolean };

const MIB = 1024 * 1024;

/** A catalogue cap scaled for a smaller environment, in whole MiB (at least 1). */
function scaled(cap: string | undefined, scale: number): string | undefined {
    if (cap === undefined || scale === 1) return cap;
    return formatSize(Math.max(MIB, Math.floor((sizeToBytes(cap) * scale) / MIB) * MIB));
}

export function desiredFleet(config: StackConfig): FleetEntry[] {
    return catalogueAt(config.fleetRevision).map((row): FleetEntry => {
        const o = config.overrides[row.name] ?? {};
        const common = {
            replicas: o.replicas ?? config.replicas,
            allowDataLoss: o.allowDataLoss ?? config.allowDataLoss,
            takeOverFrom: o.takeOverFrom ?? config.takeOverFrom,
        };
        const protect = o.protect ?? config.protect;
        const maxBytes = o.maxBytes ?? scaled("maxBytes" in row ? row.maxBytes : undefined, config.sizeScale);
        const entry = (spec: ResourceSpec): FleetEntry => ({ ...declared(spec), ...spec, row, protect });
        switch (row.kind) {
            case "stream": {
                const args: StreamArgs = {
                    name: row.name, subjects: row.subjects, maxAge: o.maxAge ?? row.maxAge, maxBytes,
                    maxMsgsPerSubject: row.maxMsgsPerSubject, discard: row.discard, ...common,
                };
                return entry({ kind: row.kind, args });
            }
            case "keyValue": {
                const args: KeyValueArgs = { bucket: row.name, history: row.history, ttl: o.maxAge, maxBytes, ...common };
                return entry({ kind: row.kind, args });
            }
            case "objectStore": {
                const args: ObjectStoreArgs = { bucket: row.name, ttl: o.maxAge ?? row.ttl, maxBytes, ...common };
                return entry({ kind: row.kind, args });
            }
        }
    });
}

function declare(e: FleetEntry, opts: pulumi.CustomResourceOptions): Stream | KeyValue | ObjectStore {
    switch (e.kind) {
        case "stream":
            return new Stream(e.name, e.args, opts);
        case "keyValue":
            return new KeyValue(e.name, e.args, opts);
        case "objectStore":
            return new ObjectStore(e.name, e.args, opts);
    }
}

export class KanadeFleet extends pulumi.ComponentResource {
    /** Every resource: its kind, backing stream and subjects, as the broker has them. */
    readonly resources: Record<string, pulumi.Output<{ kind: string; stream: string; subjects: string[] }>> = {};

    constructor(name: string, entries: FleetEntry[], opts?: pulumi.ComponentResourceOptions) {
        super("kanade:jetstream:Fleet", name, {}, opts);
        for (const e of entries) {
            const resource = declare(e, { parent: this, protect: e.protect });
            this.resources[e.row.name] = pulumi
                .all([resource.stream, resource.config])
                .apply(([stream, config]) => ({ kind: e.row.kind, stream, subjects: config?.subjects ?? [] }));
        }
        this.registerOutputs({ resources: this.resources });
    }
}
