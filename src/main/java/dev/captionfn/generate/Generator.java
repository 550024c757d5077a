package dev.captionfn.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs several searches on one decoder batch: each step, every search reads its own rows of the
 * batch's logits and says which rows go on with which tokens; finished searches leave the batch.
 */
public final class Generator {
    private Generator() {}

    /**
     * @param state prefilled with one row per search, in the order of {@code searches}
     * @return each search's generated tokens, in order
     */
    public static List<long[]> run(DecoderState state, List<Search> searches) {
        if (state.rows() != searches.size()) {
            throw new IllegalArgumentException(
                    "the decoder holds " + state.rows() + " rows for " + searches.size() + " searches");
        }
        while (true) {
            float[] logits = state.logits();
            int width = state.width();
            int[] sources = new int[0];
            long[] tokens = new long[0];
            int n = 0;
            int firstRow = 0;
            for (Search search : searches) {
                int rows = search.rows();
                if (rows == 0) {
                    continue;
                }
                Step step = search.step(logits, firstRow, width);
                if (n + step.rows() > sources.length) {
                    sources = Arrays.copyOf(sources, Math.max(2 * sources.length, n + step.rows()));
                    tokens = Arrays.copyOf(tokens, sources.length);
                }
                for (int i = 0; i < step.rows(); i++) {
                    sources[n] = firstRow + step.sourceRows()[i];
                    tokens[n] = step.tokens()[i];
                    n++;
                }
                firstRow += rows;
            }
            if (n == 0) {
                break;
            }
            state.advance(Arrays.copyOf(sources, n), Arrays.copyOf(tokens, n));
        }
        List<long[]> results = new ArrayList<>(searches.size());
        searches.forEach(s -> results.add(s.result()));
        return results;
    }
}
