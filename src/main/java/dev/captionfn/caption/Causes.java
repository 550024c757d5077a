package dev.captionfn.caption;

import java.util.Optional;

/**
 * The one walk down a chain of causes. Failures reach the ways in wrapped: by Mutiny
 * (CompositeException once retries are spent), by CompletableFuture (CompletionException), by
 * Funqy and Vert.x; what decides the answer is the first cause of a known kind.
 */
public final class Causes {
    private Causes() {}

    /** The first throwable of {@code type} in {@code failure}'s chain of causes, itself included. */
    public static <T extends Throwable> Optional<T> find(Throwable failure, Class<T> type) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return Optional.of(type.cast(t));
            }
        }
        return Optional.empty();
    }

    /** The CaptionException a failure carries, or INTERNAL naming the unexpected failure. */
    public static CaptionException asCaptionException(Throwable failure) {
        return find(failure, CaptionException.class).orElseGet(() ->
                new CaptionException(ErrorCode.INTERNAL, "unexpected error: " + failure.getClass().getSimpleName(), failure));
    }
}
