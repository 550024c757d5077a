package dev.captionfn.generate;

/**
 * A beam search's finished hypotheses with the rules that fill them: which candidates finish a
 * hypothesis, how it is scored, and when the search is over. This is where the decoding
 * conventions differ; the candidates and the running beams are the same in both.
 */
interface BeamHypotheses {
    /**
     * Takes one step's candidates, after the running beams were chosen from them.
     *
     * @return true when the search is over
     */
    boolean afterStep(BeamStep step);

    /** The best hypothesis: its generated tokens, EOS included when it ended on one. */
    long[] best();

    static BeamHypotheses of(DecodingConvention convention, GenerationOptions options, TokenSpace tokens) {
        return switch (convention) {
            case LAVIS -> new LavisBeamHypotheses(options, tokens);
            case TRANSFORMERS -> new TransformersBeamHypotheses(options, tokens);
        };
    }
}
