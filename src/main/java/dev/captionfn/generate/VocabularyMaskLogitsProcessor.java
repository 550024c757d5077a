package dev.captionfn.generate;

import java.util.Arrays;

/**
 * Bans the logit columns past the tokenizer's vocabulary. Exports often pad the LM head to a
 * multiple of 8 or 64; those columns are no token, and decoding one would fail.
 */
final class VocabularyMaskLogitsProcessor implements LogitsProcessor {
    private final int vocabSize;

    VocabularyMaskLogitsProcessor(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    @Override
    public void process(long[] generated, int length, float[] scores, int offset, int width) {
        if (width > vocabSize) {
            Arrays.fill(scores, offset + vocabSize, offset + width, Float.NEGATIVE_INFINITY);
        }
    }
}
