package dev.captionfn.caption;

/**
 * Nanoseconds spent in each stage of one caption, measured once as the request goes and handed
 * as they are to the metrics and, in milliseconds, to the answer ({@link Timings}). Queue is the
 * wait for a batch to start; vision and generate are those of the whole batch the request ran in.
 */
record StageNanos(long fetch, long decode, long preprocess, long queue, long vision, long generate, long total) {}
