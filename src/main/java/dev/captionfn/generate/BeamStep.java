package dev.captionfn.generate;

/**
 * One step of a beam search as {@link BeamHypotheses} sees it.
 *
 * @param generated the tokens every running beam held before this step
 * @param sequences the running beams before this step, {@code generated} valid tokens each
 * @param rows the candidates' beams (indices into {@code sequences}), best candidate first
 * @param tokens the candidates' tokens
 * @param scores the candidates' summed log-probabilities
 * @param nextScores the summed log-probabilities of the beams that go on, best first
 * @param next the beams that go on, {@code generated + 1} tokens each
 * @param last whether this step generated the last token max_new_tokens allows
 */
record BeamStep(
        int generated,
        long[][] sequences,
        int[] rows,
        long[] tokens,
        float[] scores,
        long[][] next,
        float[] nextScores,
        boolean last) {

    /** The tokens of candidate {@code rank}: its beam followed by its token. */
    long[] candidate(int rank) {
        long[] out = java.util.Arrays.copyOf(sequences[rows[rank]], generated + 1);
        out[generated] = tokens[rank];
        return out;
    }
}
