package dev.captionfn.generate;

/** Complete once {@code maxNewTokens} tokens are generated. */
public final class MaxNewTokensCriteria implements StoppingCriteria {
    private final int maxNewTokens;

    public MaxNewTokensCriteria(int maxNewTokens) {
        this.maxNewTokens = maxNewTokens;
    }

    @Override
    public boolean isDone(long[] generated, int length) {
        return length >= maxNewTokens;
    }
}
