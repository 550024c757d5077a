package dev.captionfn.generate;

/**
 * One transform of a row's next-token scores, as HF transformers' LogitsProcessor: it sees the
 * tokens this row has generated so far and edits the scores in place.
 */
interface LogitsProcessor {
    /**
     * @param generated the row's generated tokens, never the prompt (a processor that must see the
     *     prompt, as the repetition penalty under the transformers convention, is given it when made)
     * @param length how many entries of {@code generated} are valid
     * @param scores the row's scores, at {@code [offset, offset + width)}
     */
    void process(long[] generated, int length, float[] scores, int offset, int width);
}
