package dev.captionfn.caption;

/** Milliseconds spent in each stage of one caption. Vision and generate are the model's share of its batch. */
public record Timings(double fetchMs, double decodeMs, double preprocessMs, double visionMs, double generateMs, double totalMs) {
    static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
