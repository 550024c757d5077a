package dev.captionfn.generate;

/** Complete once the last generated token is one of the EOS ids. */
final class EosTokenCriteria implements StoppingCriteria {
    private final TokenSpace tokens;

    EosTokenCriteria(TokenSpace tokens) {
        this.tokens = tokens;
    }

    @Override
    public boolean isDone(long[] generated, int length) {
        return length > 0 && tokens.isEos(generated[length - 1]);
    }
}
