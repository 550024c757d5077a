package dev.captionfn.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * Runs several searches on one decoder batch: each step, every search reads its own rows of the
 * batch's logits and says which rows go on with which tokens; finished searches leave the batch,
 * and so do withdrawn ones (their caller gave up), whose rows free the decoder for the others.
 */
public final class Generator {
    private Generator() {}

    /**
     * @param state prefilled with one row per search, in the order of {@code searches}
     * @param withdrawn asked before each step whether search i's caller still waits for it
     * @return each search's generated tokens, in order; null for a search withdrawn before its end
     */
    public static List<long[]> run(DecoderState state, List<Search> searches, IntPredicate withdrawn) {
        if (state.rows() != searches.size()) {
            throw new IllegalArgumentException(
                    "the decoder holds " + state.rows() + " rows for " + searches.size() + " searches");
        }
        boolean[] gone = new boolean[searches.size()];
        while (true) {
            float[] logits = state.logits();
            int width = state.width();
            int[] sources = new int[0];
            long[] tokens = new long[0];
            int n = 0;
            int firstRow = 0;
            for (int s = 0; s < searches.size(); s++) {
                Search search = searches.get(s);
                int rows = gone[s] ? 0 : search.rows();
                if (rows == 0) {
                    continue;
                }
                if (withdrawn.test(s)) {
                    // its rows are simply not carried into the next step
                    gone[s] = true;
                    firstRow += rows;
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
        for (int s = 0; s < searches.size(); s++) {
            results.add(gone[s] ? null : searches.get(s).result());
        }
        return results;
    }
}
