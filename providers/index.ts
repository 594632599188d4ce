// The package's public entry: the three resource kinds and their argument types.
export { Stream, type StreamArgs } from "./stream.ts";
export { KeyValue, type KeyValueArgs } from "./keyValue.ts";
export { ObjectStore, type ObjectStoreArgs } from "./objectStore.ts";
