package dev.captionfn.text;

import java.util.Objects;

/**
 * How the Q-Former instruction is tokenized, beyond what {@code tokenizer.json} says.
 *
 * @param maxLength most tokens per text, special tokens included; longer texts lose their start
 * @param padToken the token whose id fills the padding, looked up in the tokenizer
 */
public record QFormerTokenizerSpec(int maxLength, String padToken) {

    /** BertTokenizer's pad token. */
    public static final String BERT_PAD_TOKEN = "[PAD]";

    public QFormerTokenizerSpec {
        Objects.requireNonNull(padToken, "padToken");
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be positive, got " + maxLength);
        }
        if (padToken.isBlank()) {
            throw new IllegalArgumentException("padToken is blank");
        }
    }
}
