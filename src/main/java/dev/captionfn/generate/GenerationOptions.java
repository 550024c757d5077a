package dev.captionfn.generate;

/**
 * How one request is decoded, with HF transformers' meaning for each setting. Self-validating: a
 * value that HF would refuse or that cannot be honoured is refused here, with the setting named.
 *
 * @param numBeams 1 is greedy search
 * @param maxNewTokens generated tokens at most, EOS included
 * @param minNewTokens EOS is banned until this many tokens are generated; at least 1, because a
 *     beam hypothesis of no tokens has no length to normalise its score by
 * @param repetitionPenalty CTRL's penalty on tokens already generated; 1 is off
 * @param lengthPenalty exponent of the length that divides a finished beam's log-probability
 * @param earlyStopping stop a beam search as soon as it holds {@code numBeams} finished hypotheses
 */
public record GenerationOptions(
        int numBeams,
        int maxNewTokens,
        int minNewTokens,
        double repetitionPenalty,
        double lengthPenalty,
        boolean earlyStopping) {

    public GenerationOptions {
        if (numBeams < 1) {
            throw new IllegalArgumentException("num_beams must be at least 1, was " + numBeams);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be at least 1, was " + maxNewTokens);
        }
        if (minNewTokens < 1 || minNewTokens > maxNewTokens) {
            throw new IllegalArgumentException("min_new_tokens must be between 1 and max_new_tokens ("
                    + maxNewTokens + "), was " + minNewTokens);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetition_penalty must be a positive number, was " + repetitionPenalty);
        }
        if (!Double.isFinite(lengthPenalty)) {
            throw new IllegalArgumentException("length_penalty must be a finite number, was " + lengthPenalty);
        }
    }

    public boolean isGreedy() {
        return numBeams == 1;
    }
}
