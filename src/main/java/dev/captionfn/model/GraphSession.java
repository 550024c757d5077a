package dev.captionfn.model;

import java.util.Locale;

/**
 * How one graph's session was made: the provider that runs it, whether its warm-start cache was
 * used, and how long the session took to create.
 */
public record GraphSession(String graph, ExecutionProvider provider, CacheUse cache, long millis) {

    /** What the cache volume did for a session. */
    public enum CacheUse {
        /** No cache: none configured, or the provider builds nothing worth keeping (CUDA). */
        OFF,
        /** Loaded from a valid cache. */
        HIT,
        /** No valid cache, so the session was built from the model and its cache written. */
        BUILT;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
