package dev.captionfn.caption;

/**
 * Milliseconds spent in each stage of one caption, as the answer reports them. Queue is the wait
 * for a batch to start; vision and generate are those of the whole batch the request ran in.
 */
public record Timings(double fetchMs, double decodeMs, double preprocessMs, double queueMs, double visionMs,
        double generateMs, double totalMs) {

    static Timings of(StageNanos n) {
        return new Timings(ms(n.fetch()), ms(n.decode()), ms(n.preprocess()), ms(n.queue()), ms(n.vision()), ms(n.generate()),
                ms(n.total()));
    }

    /** Rounded to 0.01 ms: finer is noise in a caption that takes tens of milliseconds or more. */
    private static double ms(long nanos) {
        return Math.round(nanos / 10_000.0) / 100.0;
    }
}
