// ObjectStore: an object store bucket, i.e. the stream OBJ_<bucket> shaped
// exactly as async-nats 0.49's create_object_store shapes it. Unlike the
// backend's bootstrap, this reconciles an existing store's config in place
// (#506): an uncapped store gets its cap, objects intact.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type Kind, lifecycle } from "./lifecycle.ts";
import { compact } from "./mapping.ts";
import { type Field, type StreamConfig } from "./rules.ts";
import * as s from "./schema.ts";
import { COMMON_SETTINGS, STREAM_SETTINGS, settingSchemas, settingsFromServer, settingsToServer } from "./settings.ts";
import { JetStreamResource, type ResourceArgs } from "./resource.ts";

// A store's ttl is the stream's maxAge under another name.
const { maxAge } = STREAM_SETTINGS;

const shape = {
    bucket: s.bucketName,
    ...settingSchemas(COMMON_SETTINGS),
    ttl: maxAge.schema,
    compression: z.boolean().default(false),
    ...s.managedInputs,
};

export const objectStoreInputs = z.strictObject(shape);

export type ObjectStoreInputs = z.infer<typeof objectStoreInputs>;
export type ObjectStoreArgs = z.input<typeof objectStoreInputs>;

export const objectStreamName = (bucket: string) => `OBJ_${bucket}`;
const PREFIX = "OBJ_";

const INPUT_OF: Partial<Record<Field, keyof ObjectStoreInputs>> = {
    name: "bucket", max_age: "ttl", max_bytes: "maxBytes", num_replicas: "replicas",
};

export const objectStoreKind: Kind<typeof objectStoreInputs> = {
    label: "object store",
    schema: objectStoreInputs,
    defaults: s.defaultsOf(shape),
    nameOf: (i) => i.bucket,
    streamName: (i) => objectStreamName(i.bucket),
    inputOf: (field) => INPUT_OF[field] ?? field,
    toStreamConfig: (i) =>
        compact({
            name: objectStreamName(i.bucket),
            ...settingsToServer(i, COMMON_SETTINGS),
            subjects: [`$O.${i.bucket}.C.>`, `$O.${i.bucket}.M.>`],
            max_age: maxAge.toServer(i.ttl),
            discard: "new",
            allow_rollup_hdrs: true,
            allow_direct: true,
            compression: i.compression ? "s2" : undefined,
        }),
    fromStreamConfig: (c: StreamConfig) => ({
        bucket: c.name.slice(PREFIX.length),
        ...settingsFromServer(c, COMMON_SETTINGS),
        ttl: maxAge.fromServer(c),
        compression: c.compression === "s2",
    }),
};

export const provider = lifecycle(objectStoreKind);

export class ObjectStore extends JetStreamResource {
    constructor(name: string, args: ResourceArgs<ObjectStoreArgs>, opts?: pulumi.CustomResourceOptions) {
        super("objectStore", "ObjectStore", name, args, opts);
    }
}
