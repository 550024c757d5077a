package dev.captionfn.text;

import java.util.Objects;

/**
 * How the Q-Former instruction is tokenized, beyond what {@code tokenizer.json} says.
 *
 * @param maxLength most tokens per text, special tokens included; longer texts lose their start
 * @param padToken the token whose id fills the padding, looked up in the tokenizer
 */
public record QFormerTokenizerSpec(int maxLength, String padToken) {

    /** LAVIS's {@code max_txt_len} for InstructBLIP's Q-Former. */
    public static final int LAVIS_MAX_LENGTH = 128;

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

    /** InstructBLIP as LAVIS runs it: bert-base-uncased, at most 128 tokens, padded with [PAD]. */
    public static QFormerTokenizerSpec lavis() {
        return new QFormerTokenizerSpec(LAVIS_MAX_LENGTH, BERT_PAD_TOKEN);
    }
}
