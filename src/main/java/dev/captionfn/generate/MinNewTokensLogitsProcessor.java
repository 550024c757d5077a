package dev.captionfn.generate;

/** Bans every EOS token until the row holds {@code minNewTokens} generated tokens (HF's MinLength with inputs_embeds). */
final class MinNewTokensLogitsProcessor implements LogitsProcessor {
    private final int minNewTokens;
    private final long[] eosIds;

    MinNewTokensLogitsProcessor(int minNewTokens, long[] eosIds) {
        this.minNewTokens = minNewTokens;
        this.eosIds = eosIds.clone();
    }

    @Override
    public void process(long[] generated, int length, float[] scores, int offset, int width) {
        if (length < minNewTokens) {
            for (long eos : eosIds) {
                if (eos >= 0 && eos < width) {
                    scores[offset + (int) eos] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }
}
