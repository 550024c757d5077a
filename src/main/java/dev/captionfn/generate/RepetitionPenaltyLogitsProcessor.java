package dev.captionfn.generate;

import java.util.Arrays;
import java.util.BitSet;

/**
 * CTRL's repetition penalty (HF's RepetitionPenaltyLogitsProcessor): the score of every token in
 * HF's input_ids is multiplied by the penalty when negative and divided by it otherwise, once per
 * distinct token however often it occurred. HF's input_ids are the prompt ids it was given plus
 * the generated tokens; which prompt ids those are depends on the {@link DecodingConvention}.
 */
final class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
    private final float penalty;
    private final long[] promptIds;

    /**
     * @param promptIds the ids HF's input_ids held before the first generated token (none under
     *     LAVIS, whose input_ids start empty)
     */
    RepetitionPenaltyLogitsProcessor(double penalty, long[] promptIds) {
        this.penalty = (float) penalty;
        this.promptIds = Arrays.stream(promptIds).distinct().toArray();
    }

    @Override
    public void process(long[] generated, int length, float[] scores, int offset, int width) {
        BitSet seen = new BitSet(width);
        for (long token : promptIds) {
            penalise(token, seen, scores, offset, width);
        }
        for (int i = 0; i < length; i++) {
            penalise(generated[i], seen, scores, offset, width);
        }
    }

    private void penalise(long id, BitSet seen, float[] scores, int offset, int width) {
        if (id < 0 || id >= width || seen.get((int) id)) {
            return;
        }
        int token = (int) id;
        seen.set(token);
        float s = scores[offset + token];
        scores[offset + token] = s < 0 ? s * penalty : s / penalty;
    }
}
