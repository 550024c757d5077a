package dev.captionfn.generate;

/**
 * One request's decoding strategy. It sees its rows' logits and answers with the rows and tokens of
 * the next step; it never touches the model, which lets requests with different strategies share
 * one decoder batch.
 */
public interface Search {
    /** Rows this search holds in the decoder batch now; 0 once finished. */
    int rows();

    /**
     * @param logits the whole batch's logits; this search's rows start at row {@code firstRow}
     */
    Step step(float[] logits, int firstRow, int width);

    /** The generated tokens (EOS included when one was generated); valid once {@link #rows()} is 0. */
    long[] result();

    /**
     * @param convention the model's decoding convention
     * @param penalisedPromptIds the prompt ids the repetition penalty sees besides the generated
     *     tokens ({@link DecodingConvention#penalisedPromptIds})
     */
    static Search forOptions(GenerationOptions options, TokenSpace tokens, DecodingConvention convention,
            long[] penalisedPromptIds) {
        LogitsProcessorList processors = LogitsProcessorList.forOptions(options, tokens, penalisedPromptIds);
        return options.isGreedy()
                ? new GreedySearch(options, tokens, processors)
                : new BeamSearch(options, tokens, processors, convention);
    }
}
