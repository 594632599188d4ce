// The desired fleet for one stack (catalogue rows + stack config) and the
// KanadeFleet component that declares it: one resource per row, named as on
// the broker, so `pulumi preview` reads like `nats stream ls`.
import * as pulumi from "@pulumi/pulumi";
import { type CatalogueRow, catalogueAt } from "./catalogue.ts";
import { type StackConfig } from "./config.ts";
import { type Kind, type ManagedInputs } from "../providers/lifecycle.ts";
import { KeyValue, type KeyValueArgs, keyValueKind } from "../providers/keyValue.ts";
import { ObjectStore, type ObjectStoreArgs, objectStoreKind } from "../providers/objectStore.ts";
import { type StreamConfig } from "../providers/rules.ts";
import { Stream, type StreamArgs, streamKind } from "../providers/stream.ts";
import { compact } from "../providers/mapping.ts";
import { formatSize, sizeToBytes } from "../providers/units.ts";
import { propertyPath } from "../providers/schema.ts";
import { z } from "zod";

interface Entry<K extends CatalogueRow["kind"], A> {
    kind: K;
    row: CatalogueRow;
    /** The resource's arguments, as the program passes them to its provider. */
    args: A;
    /** The backing stream config those arguments produce. */
    config: StreamConfig;
    protect: boolean;
}

export type FleetEntry = Entry<"stream", StreamArgs> | Entry<"keyValue", KeyValueArgs> | Entry<"objectStore", ObjectStoreArgs>;

const MIB = 1024 * 1024;

/** A catalogue cap scaled for a smaller environment, in whole MiB (at least 1). */
function scaled(cap: string | undefined, scale: number): string | undefined {
    if (cap === undefined || scale === 1) return cap;
    return formatSize(Math.max(MIB, Math.floor((sizeToBytes(cap) * scale) / MIB) * MIB));
}

/** The backing stream config of a resource's arguments, validated as its provider's check() would. */
function streamConfigOf<S extends z.ZodType<ManagedInputs>>(kind: Kind<S>, name: string, args: unknown): StreamConfig {
    const parsed = kind.schema.safeParse(args);
    if (!parsed.success) {
        throw new Error(`fleet resource ${name}: ${parsed.error.issues.map((i) => `${propertyPath(i.path)} ${i.message}`).join("; ")}`);
    }
    return kind.toStreamConfig(parsed.data);
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
        switch (row.kind) {
            case "stream": {
                const args: StreamArgs = compact({
                    name: row.name, subjects: row.subjects, maxAge: o.maxAge ?? row.maxAge, maxBytes,
                    maxMsgsPerSubject: row.maxMsgsPerSubject, discard: row.discard, ...common,
                });
                return { kind: row.kind, row, args, protect, config: streamConfigOf(streamKind, row.name, args) };
            }
            case "keyValue": {
                const args: KeyValueArgs = compact({ bucket: row.name, history: row.history, ttl: o.maxAge, maxBytes, ...common });
                return { kind: row.kind, row, args, protect, config: streamConfigOf(keyValueKind, row.name, args) };
            }
            case "objectStore": {
                const args: ObjectStoreArgs = compact({ bucket: row.name, ttl: o.maxAge ?? row.ttl, maxBytes, ...common });
                return { kind: row.kind, row, args, protect, config: streamConfigOf(objectStoreKind, row.name, args) };
            }
        }
    });
}

function declare(e: FleetEntry, opts: pulumi.CustomResourceOptions): Stream | KeyValue | ObjectStore {
    switch (e.kind) {
        case "stream":
            return new Stream(e.row.name, e.args, opts);
        case "keyValue":
            return new KeyValue(e.row.name, e.args, opts);
        case "objectStore":
            return new ObjectStore(e.row.name, e.args, opts);
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
