package dev.captionfn.modeldir;

import java.util.Locale;

/**
 * The three graphs of a model directory, in the order a caption runs them: vision (ViT, Q-Former,
 * projection) once per image, embed and decoder once per generated token.
 */
public enum Graph {
    VISION, EMBED, DECODER;

    /** The name model.json's graphs object and the session cache's folders use. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return id();
    }
}
