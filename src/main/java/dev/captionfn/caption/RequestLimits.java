package dev.captionfn.caption;

import java.time.Duration;

/**
 * The server's caps on what one request may ask for and cost ({@code captionfn.limits.*}).
 *
 * @param maxBeams beams a request may ask for; more are cut to this
 * @param maxNewTokens tokens a caption may grow to; more are cut to this
 * @param maxPromptChars characters of a prompt; a longer one is INVALID_REQUEST
 * @param maxPixels pixels an image may declare; past it TOO_MANY_PIXELS
 * @param maxInFlight places in the queue in front of the model
 * @param deadline from admission to answer; past it DEADLINE_EXCEEDED
 */
public record RequestLimits(int maxBeams, int maxNewTokens, int maxPromptChars, long maxPixels, int maxInFlight,
        Duration deadline) {
    public RequestLimits {
        if (maxBeams < 1 || maxNewTokens < 1 || maxPromptChars < 1 || maxPixels < 1 || maxInFlight < 1) {
            throw new IllegalArgumentException("captionfn.limits must be positive: max-beams " + maxBeams + ", max-new-tokens "
                    + maxNewTokens + ", max-prompt-chars " + maxPromptChars + ", max-pixels " + maxPixels + ", max-in-flight "
                    + maxInFlight);
        }
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("captionfn.limits.deadline must be positive, not " + deadline);
        }
    }
}
