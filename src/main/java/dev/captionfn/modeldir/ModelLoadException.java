package dev.captionfn.modeldir;

/**
 * A model directory that cannot be served. Startup stops with this message, so it always names the
 * file and says what is wrong with it.
 */
public class ModelLoadException extends RuntimeException {
    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
