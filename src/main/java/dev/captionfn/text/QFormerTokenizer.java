package dev.captionfn.text;

import ai.djl.huggingface.tokenizers.Encoding;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The Q-Former's instruction tokenizer (bert-base-uncased WordPiece in InstructBLIP), producing
 * what LAVIS gets from {@code BertTokenizer(truncation_side="left")} called with
 * {@code padding="longest", truncation=True, max_length=128}: {@code [CLS] … [SEP]} per text, the
 * start of an over-long text dropped so that its end (the actual question) survives, and rows
 * padded on the right to the longest.
 *
 * <p>Thread-safe; close it to free the native tokenizer.
 */
public final class QFormerTokenizer implements AutoCloseable {

    private final TokenizerJson tokenizer;
    private final int maxLength;
    private final long padId;

    private QFormerTokenizer(TokenizerJson tokenizer, int maxLength, long padId) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.padId = padId;
    }

    /**
     * Loads a {@code tokenizer.json}.
     *
     * @throws TokenizerLoadException if the file is missing or unusable, lacks the pad token, or
     *     its special tokens alone fill {@code maxLength}
     */
    public static QFormerTokenizer load(Path tokenizerJson, QFormerTokenizerSpec spec) {
        Objects.requireNonNull(spec, "spec");
        TokenizerJson tokenizer = TokenizerJson.load(tokenizerJson);
        try {
            long padId = tokenizer.tokenId(spec.padToken()).orElseThrow(() -> new TokenizerLoadException(
                    tokenizerJson, "it has no pad token " + spec.padToken()));
            int specials = tokenizer.encode("", true).getIds().length;
            if (specials >= spec.maxLength()) {
                throw new TokenizerLoadException(tokenizerJson, "max length " + spec.maxLength()
                        + " leaves no room for text beside its " + specials + " special tokens");
            }
            return new QFormerTokenizer(tokenizer, spec.maxLength(), padId);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * Tokenizes a batch of texts.
     *
     * @param texts one or more texts
     * @return {@code [texts.size(), longest]} ids and mask
     */
    public TokenizedBatch encode(List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("No texts to tokenize");
        }
        return TokenizedBatch.rightPadded(
                texts.stream().map(text -> encodeOne(Objects.requireNonNull(text, "texts contains null"))).toList(), padId);
    }

    /**
     * One text's ids, {@code [CLS] … [SEP]}, truncated as {@link #encode} truncates and not padded:
     * a request's row, which the model pads once, with the rows it shares a batch with.
     */
    public long[] encodeOne(String text) {
        return truncateLeft(tokenizer.encode(Objects.requireNonNull(text, "text"), true));
    }

    /**
     * HF's {@code truncation_side="left"} on one sequence: the special tokens the post-processor
     * added stay where they are, and the text loses as many of its first tokens as it must. The
     * tokenizer library only truncates on the right, hence this.
     */
    private long[] truncateLeft(Encoding encoding) {
        long[] ids = encoding.getIds();
        int excess = ids.length - maxLength;
        if (excess <= 0) {
            return ids;
        }
        long[] special = encoding.getSpecialTokenMask();
        long[] kept = new long[maxLength];
        int k = 0;
        for (int i = 0; i < ids.length; i++) {
            if (special[i] == 0 && excess > 0) {
                excess--;
            } else {
                kept[k++] = ids[i];
            }
        }
        return kept;
    }

    /** Most tokens per row, special tokens included. */
    public int maxLength() {
        return maxLength;
    }

    /** The id that fills padding. */
    public long padId() {
        return padId;
    }

    /** The id of a token string (vocabulary or added token), if the tokenizer has it. */
    public OptionalLong tokenId(String token) {
        return tokenizer.tokenId(token);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
