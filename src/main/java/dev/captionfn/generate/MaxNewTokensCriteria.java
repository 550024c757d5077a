package dev.captionfn.generate;

/** Complete once {@code maxNewTokens} tokens are generated. */
final class MaxNewTokensCriteria implements StoppingCriteria {
    private final int maxNewTokens;

    MaxNewTokensCriteria(int maxNewTokens) {
        this.maxNewTokens = maxNewTokens;
    }

    @Override
    public boolean isDone(long[] generated, int length) {
        return length >= maxNewTokens;
    }
}
