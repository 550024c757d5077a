package dev.captionfn.generate;

/**
 * A search's decision for the next step: new row i continues the search's row
 * {@code sourceRows[i]} with {@code tokens[i]}. No rows means the search is finished.
 */
public record Step(int[] sourceRows, long[] tokens) {
    private static final Step FINISHED = new Step(new int[0], new long[0]);

    public Step {
        if (sourceRows.length != tokens.length) {
            throw new IllegalArgumentException("one token per row");
        }
    }

    static Step finished() {
        return FINISHED;
    }

    public int rows() {
        return sourceRows.length;
    }
}
