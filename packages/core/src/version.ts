// The version of the list encoding (the codec's first byte), in a module of its own so that a
// program can print it without loading the rest of the core (`trolley --version`).

/** Version of the list encoding; the codec's first byte. */
export const PROTOCOL_VERSION = 1;
