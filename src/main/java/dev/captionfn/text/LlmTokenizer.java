package dev.captionfn.text;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The language model's tokenizer (LLaMA/Vicuna SentencePiece BPE in InstructBLIP-Vicuna, read as a
 * {@code tokenizer.json}): prompt ids behind the model's BOS, and captions decoded the way LAVIS
 * does it ({@code batch_decode(skip_special_tokens=True)}, then {@code .strip()}).
 *
 * <p>Special-token strings inside a prompt (say {@code </s>}) are matched as those tokens, as the
 * HuggingFace tokenizers do.
 *
 * <p>Thread-safe; close it to free the native tokenizer.
 */
public final class LlmTokenizer implements AutoCloseable {

    private final TokenizerJson tokenizer;
    private final LlmTokenizerSpec spec;

    private LlmTokenizer(TokenizerJson tokenizer, LlmTokenizerSpec spec) {
        this.tokenizer = tokenizer;
        this.spec = spec;
    }

    /**
     * Loads a {@code tokenizer.json}.
     *
     * @throws TokenizerLoadException if the file is missing or unusable, or the BOS (when used) or
     *     EOS id lies outside its vocabulary
     */
    public static LlmTokenizer load(Path tokenizerJson, LlmTokenizerSpec spec) {
        Objects.requireNonNull(spec, "spec");
        TokenizerJson tokenizer = TokenizerJson.load(tokenizerJson);
        try {
            requireKnown(tokenizer, "EOS", spec.eosId());
            if (spec.addBos()) {
                requireKnown(tokenizer, "BOS", spec.bosId());
            }
            return new LlmTokenizer(tokenizer, spec);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    private static void requireKnown(TokenizerJson tokenizer, String role, long id) {
        if (id >= tokenizer.vocabSize()) {
            throw new TokenizerLoadException(tokenizer.file(), role + " id " + id
                    + " is outside its vocabulary of " + tokenizer.vocabSize());
        }
    }

    /**
     * The prompt's ids, after the BOS when the spec asks for one. The tokenizer's own special
     * tokens (its post-processor's BOS, for instance) are not added: the model's BOS is the spec's.
     */
    public long[] encodePrompt(String prompt) {
        long[] ids = tokenizer.encode(Objects.requireNonNull(prompt, "prompt"), false).getIds();
        if (!spec.addBos()) {
            return ids;
        }
        long[] withBos = new long[ids.length + 1];
        withBos[0] = spec.bosId();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /**
     * Generated ids to text: the spec's BOS, EOS and pad ids and the tokenizer's special tokens
     * are skipped, and surrounding whitespace is stripped as Python's {@code str.strip()} does.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary, which the tokenizers
     *     library would silently drop (the generator must mask such logits)
     */
    public String decode(long[] ids) {
        long[] kept = Arrays.stream(ids)
                .filter(id -> id != spec.bosId() && id != spec.eosId() && id != spec.padId())
                .toArray();
        for (long id : kept) {
            if (id < 0 || id >= tokenizer.vocabSize()) {
                throw new IllegalArgumentException("Token id " + id + " is outside the vocabulary of "
                        + tokenizer.vocabSize() + " of " + tokenizer.file());
            }
        }
        return PythonText.strip(tokenizer.decode(kept, true));
    }

    /** Highest id the tokenizer knows plus one (vocabulary and added tokens). */
    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    /** The id of a token string (vocabulary piece such as {@code ▁the}, or added token), if any. */
    public OptionalLong tokenId(String token) {
        return tokenizer.tokenId(token);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
