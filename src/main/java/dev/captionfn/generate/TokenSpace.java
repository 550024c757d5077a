package dev.captionfn.generate;

/**
 * The ids generation needs to know: which tokens end a sequence, how many are real tokens, and how
 * wide the logits are.
 */
public record TokenSpace(long[] eosIds, int vocabSize, int width) {
    public TokenSpace {
        if (eosIds.length == 0) {
            throw new IllegalArgumentException("at least one EOS id is needed");
        }
        if (vocabSize < 1 || width < vocabSize) {
            throw new IllegalArgumentException("logits width " + width + " is narrower than the vocabulary " + vocabSize);
        }
        eosIds = eosIds.clone();
    }

    public boolean isEos(long token) {
        for (long e : eosIds) {
            if (e == token) {
                return true;
            }
        }
        return false;
    }
}
