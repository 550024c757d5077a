package dev.captionfn.generate;

import java.util.BitSet;

/**
 * CTRL's repetition penalty (HF's RepetitionPenaltyLogitsProcessor): the score of every token
 * already generated is multiplied by the penalty when negative and divided by it otherwise, once
 * per distinct token however often it occurred.
 */
public final class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
    private final float penalty;

    public RepetitionPenaltyLogitsProcessor(double penalty) {
        this.penalty = (float) penalty;
    }

    @Override
    public void process(long[] generated, int length, float[] scores, int offset, int width) {
        BitSet seen = new BitSet(width);
        for (int i = 0; i < length; i++) {
            int token = (int) generated[i];
            if (token < 0 || token >= width || seen.get(token)) {
                continue;
            }
            seen.set(token);
            float s = scores[offset + token];
            scores[offset + token] = s < 0 ? s * penalty : s / penalty;
        }
    }
}
