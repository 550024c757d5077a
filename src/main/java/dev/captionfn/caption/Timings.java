package dev.captionfn.caption;

/**
 * Milliseconds spent in each stage of one caption. Queue is the wait for a batch to start; vision
 * and generate are those of the whole batch the request ran in.
 */
public record Timings(double fetchMs, double decodeMs, double preprocessMs, double queueMs, double visionMs,
        double generateMs, double totalMs) {
    static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
