// Stream: a JetStream stream with every setting of the server's StreamConfig
// an operator sets, one row each in settings.ts.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type Kind, lifecycle } from "./lifecycle.ts";
import { nanos } from "./mapping.ts";
import { RULES, type StreamConfig } from "./rules.ts";
import * as s from "./schema.ts";
import { SETTING_INPUT_OF, settingRules, settingSchemas, settingsFromServer, settingsToServer } from "./settings.ts";
import { JetStreamResource, type ResourceArgs } from "./resource.ts";
import { formatDuration } from "./units.ts";

const shape = { name: s.streamName, ...settingSchemas(), ...s.managedInputs };

export const streamInputs = z
    .strictObject(shape)
    .refine((i) => !(i.mirror && (i.subjects.length || i.sources.length)), {
        message: "a mirror cannot also have subjects or sources", path: ["mirror"],
    })
    .superRefine(s.sourcesRule)
    .superRefine(s.streamRules)
    .superRefine(settingRules)
    .transform((i) => {
        if (i.duplicateWindow !== undefined || i.mirror) return i;
        const window = RULES.duplicate_window.fill({ name: i.name, max_age: nanos(i.maxAge) }) as number;
        return { ...i, duplicateWindow: formatDuration(window) };
    });

export type StreamInputs = z.infer<typeof streamInputs>;
export type StreamArgs = z.input<typeof streamInputs>;

export const streamKind: Kind<typeof streamInputs> = {
    label: "stream",
    schema: streamInputs,
    defaults: s.defaultsOf(shape),
    nameOf: (i) => i.name,
    streamName: (i) => i.name,
    inputOf: (field) => SETTING_INPUT_OF[field] ?? field,
    toStreamConfig: (i) => ({ name: i.name, ...settingsToServer(i) }),
    fromStreamConfig: (c: StreamConfig) => ({ name: c.name, ...settingsFromServer(c) }) as Omit<StreamInputs, "allowDataLoss">,
};

export const provider = lifecycle(streamKind);

export class Stream extends JetStreamResource {
    constructor(name: string, args: ResourceArgs<StreamArgs>, opts?: pulumi.CustomResourceOptions) {
        super("stream", "Stream", name, args, opts);
    }
}
