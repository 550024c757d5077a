package dev.captionfn.text;

import java.nio.file.Path;

/**
 * A tokenizer file could not be loaded: missing, unreadable, not JSON, or not a tokenizer the
 * HuggingFace tokenizers library accepts. Unchecked because a model without its tokenizers cannot
 * serve anything; the loader reports it and the function stays down rather than limping.
 */
public class TokenizerLoadException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public TokenizerLoadException(Path file, String reason, Throwable cause) {
        super("Cannot load tokenizer " + file + ": " + reason, cause);
        this.file = file;
    }

    public TokenizerLoadException(Path file, String reason) {
        this(file, reason, null);
    }

    /** The tokenizer file that failed. */
    public Path file() {
        return file;
    }
}
