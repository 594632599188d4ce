// The package's public entry: the three resource kinds, their argument types,
// the preview-time checks any program can run over them, and the size and
// duration units their arguments use.
export { Stream, type StreamArgs } from "./stream.ts";
export { KeyValue, type KeyValueArgs } from "./keyValue.ts";
export { ObjectStore, type ObjectStoreArgs } from "./objectStore.ts";
export { type ResourceArgs, stackOwner } from "./resource.ts";
export {
    type Advice, type CheckResourcesOptions, type Declared, type Renames, type ResourceSpec, GENERIC_ADVICE, checkResources, declared, totalReserved,
} from "./checks.ts";
export { maxAge, ownerId } from "./schema.ts";
export { UNLIMITED, duration, formatDuration, formatSize, size, sizeToBytes } from "./units.ts";
