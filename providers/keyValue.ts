// KeyValue: a KV bucket, i.e. the stream KV_<bucket> shaped exactly as
// async-nats 0.49 shapes it (kv_to_stream_config), so that the kanade
// backend's own create or create-or-update of the same bucket finds nothing
// to change (test/compat/async-nats-bootstrap/FINDINGS.md).
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type Kind, lifecycle } from "./lifecycle.ts";
import { compact, nanos, republishFromServer, republishToServer } from "./mapping.ts";
import { type Field, type StreamConfig, type StreamSource } from "./rules.ts";
import * as s from "./schema.ts";
import { COMMON_SETTINGS, STREAM_SETTINGS, settingSchemas, settingsFromServer, settingsToServer } from "./settings.ts";
import { JetStreamResource, type ResourceArgs } from "./resource.ts";

// A bucket's ttl and value size are the stream's maxAge and maxMsgSize under other names.
const { maxAge, maxMsgSize, subjectDeleteMarkerTtl } = STREAM_SETTINGS;

const bucketSource = z.strictObject({ bucket: s.bucketName, external: s.external.optional() });

const shape = {
    bucket: s.bucketName,
    ...settingSchemas(COMMON_SETTINGS),
    history: z.number().int().min(1).max(64).default(1),
    ttl: maxAge.schema,
    maxValueSize: maxMsgSize.schema,
    compression: z.boolean().default(false),
    republish: s.republish.optional(),
    mirror: bucketSource.optional(),
    sources: z.array(bucketSource).default([]),
    /** TTL of the marker a key's removal by ttl or purge leaves (2.11+): nats.go's LimitMarkerTTL. */
    markerTtl: subjectDeleteMarkerTtl.schema,
    ...s.managedInputs,
};

export const keyValueInputs = z
    .strictObject(shape)
    .refine((i) => !(i.mirror && i.sources.length), { message: "a mirror cannot also have sources", path: ["mirror"] })
    .refine((i) => !(i.mirror && i.markerTtl), {
        message: 'cannot be set on a mirror: nats-server refuses it (10052 "subject delete markers forbidden on mirrors")', path: ["markerTtl"],
    });

export type KeyValueInputs = z.infer<typeof keyValueInputs>;
export type KeyValueArgs = z.input<typeof keyValueInputs>;
type BucketSource = z.infer<typeof bucketSource>;

export const kvStreamName = (bucket: string) => `KV_${bucket}`;
const PREFIX = "KV_";

const sourceToServer = (x: BucketSource): StreamSource => compact({ name: kvStreamName(x.bucket), external: x.external }) as StreamSource;
const sourceFromServer = (x: StreamSource): BucketSource =>
    (x.external ? { bucket: x.name.slice(PREFIX.length), external: x.external } : { bucket: x.name.slice(PREFIX.length) });

const INPUT_OF: Partial<Record<Field, keyof KeyValueInputs>> = {
    name: "bucket", max_msgs_per_subject: "history", max_age: "ttl", max_bytes: "maxBytes", max_msg_size: "maxValueSize",
    num_replicas: "replicas", subject_delete_marker_ttl: "markerTtl", allow_msg_ttl: "markerTtl",
};

export const keyValueKind: Kind<typeof keyValueInputs> = {
    label: "KV bucket",
    schema: keyValueInputs,
    defaults: s.defaultsOf(shape),
    nameOf: (i) => i.bucket,
    streamName: (i) => kvStreamName(i.bucket),
    inputOf: (field) => INPUT_OF[field] ?? field,
    toStreamConfig: (i) =>
        compact({
            name: kvStreamName(i.bucket),
            ...settingsToServer(i, COMMON_SETTINGS),
            subjects: i.mirror || i.sources.length ? undefined : [`$KV.${i.bucket}.>`],
            max_msgs_per_subject: i.history,
            max_age: maxAge.toServer(i.ttl),
            max_msg_size: maxMsgSize.toServer(i.maxValueSize),
            discard: "new",
            allow_rollup_hdrs: true,
            deny_delete: true,
            allow_direct: true,
            mirror_direct: i.mirror ? true : undefined,
            compression: i.compression ? "s2" : undefined,
            republish: republishToServer(i.republish),
            mirror: i.mirror && sourceToServer(i.mirror),
            sources: i.sources.length ? i.sources.map(sourceToServer) : undefined,
            // As nats.go's kv.go writes LimitMarkerTTL: with per-message TTLs on.
            ...(i.markerTtl ? { allow_msg_ttl: true, subject_delete_marker_ttl: nanos(i.markerTtl) } : {}),
        }),
    fromStreamConfig: (c: StreamConfig) => {
        const out = {
            bucket: c.name.slice(PREFIX.length),
            ...settingsFromServer(c, COMMON_SETTINGS),
            history: c.max_msgs_per_subject && c.max_msgs_per_subject > 0 ? c.max_msgs_per_subject : 1,
            ttl: maxAge.fromServer(c),
            maxValueSize: maxMsgSize.fromServer(c),
            compression: c.compression === "s2",
            republish: republishFromServer(c.republish),
            mirror: c.mirror && sourceFromServer(c.mirror),
            sources: (c.sources ?? []).map(sourceFromServer),
            markerTtl: subjectDeleteMarkerTtl.fromServer(c),
        };
        return compact(out) as Omit<KeyValueInputs, "allowDataLoss">;
    },
};

export const provider = lifecycle(keyValueKind);

export class KeyValue extends JetStreamResource {
    constructor(name: string, args: ResourceArgs<KeyValueArgs>, opts?: pulumi.CustomResourceOptions) {
        super("keyValue", "KeyValue", name, args, opts);
    }
}
